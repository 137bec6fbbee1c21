//! Consumes a topic with the push consumer for 30 s; a message whose body is "fail" is retried.
//!
//! `cargo run -p ferrocket-client --example push_consumer -- 127.0.0.1:9876 DemoTopic`

use std::time::Duration;

use ferrocket_client::{ClientOptions, ConsumeOutcome, PushConsumer, PushConsumerOptions, ReceivedMessage};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let namesrv = args.next().unwrap_or_else(|| "127.0.0.1:9876".into());
    let topic = args.next().unwrap_or_else(|| "DemoTopic".into());
    let options = PushConsumerOptions::new(ClientOptions::new(&namesrv), "demo-push").subscribe(&topic, "*");
    let consumer = PushConsumer::start(options, |message: ReceivedMessage| async move {
        let body = String::from_utf8_lossy(&message.body).into_owned();
        println!("{} (retry {}): {body}", message.msg_id(), message.reconsume_times);
        if body == "fail" {
            ConsumeOutcome::Retry
        } else {
            ConsumeOutcome::Success
        }
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(30)).await;
    consumer.shutdown().await;
    Ok(())
}
