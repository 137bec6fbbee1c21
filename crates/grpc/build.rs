//! Generates the apache.rocketmq.v2 messages and the MessagingService server (and a client, for
//! the tests) from proto/, compiled by protox so that no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/apache/rocketmq/v2/messaging.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Bodies stay one reference-counted buffer from the HTTP/2 frame to the broker.
        .bytes(".")
        .compile_fds(descriptors)?;
    Ok(())
}
