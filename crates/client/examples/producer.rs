//! Sends a few messages every way the producer can: sync, async, oneway, ordered by key and as
//! a batch.
//!
//! `cargo run -p ferrocket-client --example producer -- 127.0.0.1:9876 DemoTopic`

use ferrocket_client::{ClientOptions, Message, Producer, ProducerOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let namesrv = args.next().unwrap_or_else(|| "127.0.0.1:9876".into());
    let topic = args.next().unwrap_or_else(|| "DemoTopic".into());
    let producer = Producer::start(ProducerOptions::new(ClientOptions::new(&namesrv), "demo-producer"))?;

    let sent = producer
        .send(
            Message::new(&topic, "hello")
                .with_tags("greeting")
                .with_keys(["demo-1"]),
        )
        .await?;
    println!(
        "sync: {} in {}:{} at {}",
        sent.msg_id, sent.broker_name, sent.queue_id, sent.queue_offset
    );

    let pending = producer.send_async(Message::new(&topic, "hello, later")).await?;
    println!("async: {:?}", pending.await??.status);

    producer.send_oneway(Message::new(&topic, "fire and forget")).await?;

    for step in ["created", "paid", "shipped"] {
        let sent = producer
            .send_ordered(Message::new(&topic, format!("order-7 {step}")), "order-7")
            .await?;
        println!("ordered: {step} -> queue {}", sent.queue_id);
    }

    let batch = (0..3).map(|i| Message::new(&topic, format!("batch {i}"))).collect();
    println!("batch: {}", producer.send_batch(batch).await?.msg_id);
    producer.shutdown().await;
    Ok(())
}
