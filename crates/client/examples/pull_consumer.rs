//! Reads a topic from its first message with the lite-pull consumer, then commits.
//!
//! `cargo run -p ferrocket-client --example pull_consumer -- 127.0.0.1:9876 DemoTopic`

use std::time::Duration;

use ferrocket_client::{ClientOptions, PullConsumer, PullConsumerOptions, StartFrom};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let namesrv = args.next().unwrap_or_else(|| "127.0.0.1:9876".into());
    let topic = args.next().unwrap_or_else(|| "DemoTopic".into());
    let mut options = PullConsumerOptions::new(ClientOptions::new(&namesrv), "demo-pull");
    options.start_from = StartFrom::FirstOffset;
    let consumer = PullConsumer::start(options)?;
    consumer.subscribe(&topic, "*").await?;
    for _ in 0..10 {
        for message in consumer.poll(Duration::from_secs(1)).await? {
            let body = String::from_utf8_lossy(&message.body);
            println!(
                "{} q{}@{}: {body}",
                message.msg_id(),
                message.queue_id,
                message.queue_offset
            );
        }
    }
    consumer.shutdown().await;
    Ok(())
}
