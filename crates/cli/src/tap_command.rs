//! `ferrocket tap --addr host:port`: prints, one line each, the requests a running server
//! decodes, read from its console's event stream (`/api/tap/stream`), not from a packet capture.
//!
//! The request is HTTP/1.0, so the server sends the stream as plain bytes until it closes (no
//! chunked encoding to undo); the stream is `data: {json}` lines (server-sent events).

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::console::percent_encode;

/// Connecting to the console gives up after this long.
const TAP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A line of the stream longer than this is not one the console writes (an event is a few
/// hundred bytes; its fields are clipped).
const TAP_LINE_BYTES_MAX: usize = 64 * 1024;

/// What to show.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TapArgs {
    /// The console address of the broker, name server or standalone (`127.0.0.1:8089`).
    #[arg(long)]
    pub addr: String,
    /// Only this request code (name or number), e.g. SEND_MESSAGE_V2.
    #[arg(long)]
    pub code: Option<String>,
    /// Only requests naming this topic.
    #[arg(long)]
    pub topic: Option<String>,
    /// Only callers (client id, group or address) containing this text.
    #[arg(long)]
    pub client: Option<String>,
    /// Stop after this many requests (default: until interrupted).
    #[arg(long)]
    pub count: Option<u64>,
}

impl TapArgs {
    fn path(&self) -> String {
        let mut query = Vec::new();
        for (key, value) in [("code", &self.code), ("topic", &self.topic), ("client", &self.client)] {
            if let Some(value) = value {
                query.push(format!("{key}={}", percent_encode(value)));
            }
        }
        format!("/api/tap/stream?{}", query.join("&"))
    }
}

pub async fn run(args: TapArgs) -> anyhow::Result<()> {
    let stream = tokio::time::timeout(TAP_CONNECT_TIMEOUT, TcpStream::connect(&args.addr))
        .await
        .with_context(|| format!("connecting to the console at {}: timed out", args.addr))?
        .with_context(|| {
            format!(
                "connecting to the console at {} (is it served? --console-port)",
                args.addr
            )
        })?;
    let mut reader = BufReader::new(stream);
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        args.path(),
        args.addr
    );
    reader.get_mut().write_all(request.as_bytes()).await?;
    let mut line = String::new();
    read_line(&mut reader, &mut line).await?;
    if line.split_whitespace().nth(1) != Some("200") {
        bail!("the console answered {:?}", line.trim_end());
    }
    // Headers, up to the blank line.
    loop {
        read_line(&mut reader, &mut line).await?;
        if line.trim_end().is_empty() {
            break;
        }
    }
    eprintln!("watching {} (Ctrl-C stops)", args.addr);
    let mut printed = 0u64;
    let mut stdout = std::io::stdout();
    while args.count.is_none_or(|count| printed < count) {
        if read_line(&mut reader, &mut line).await? == 0 {
            bail!("the console closed the stream");
        }
        let Some(data) = line.trim_end().strip_prefix("data:") else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(data.trim_start()) else {
            continue;
        };
        // A missed-events notice carries a bare number.
        let text = match event {
            Value::Number(missed) => format!("... {missed} requests dropped (the ring outran this reader)"),
            event => format_event(&event),
        };
        if writeln!(stdout, "{text}").and_then(|()| stdout.flush()).is_err() {
            // The reader of our output went away (`| head`): done.
            return Ok(());
        }
        printed += 1;
    }
    Ok(())
}

async fn read_line(reader: &mut BufReader<TcpStream>, line: &mut String) -> anyhow::Result<usize> {
    line.clear();
    let mut bytes = Vec::new();
    let read = (&mut *reader)
        .take(TAP_LINE_BYTES_MAX as u64)
        .read_until(b'\n', &mut bytes)
        .await?;
    if read == TAP_LINE_BYTES_MAX && bytes.last() != Some(&b'\n') {
        bail!("a line of the stream is over {TAP_LINE_BYTES_MAX} bytes");
    }
    line.push_str(&String::from_utf8_lossy(&bytes));
    Ok(read)
}

/// `12:00:01.250 broker in  SEND_MESSAGE_V2 caller=… topic=T every 30.0s a=pg b=T …`
pub fn format_event(event: &Value) -> String {
    let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or("");
    let at_ms = event.get("atMs").and_then(Value::as_u64).unwrap_or(0);
    let day_ms = at_ms % 86_400_000;
    let mut line = format!(
        "{:02}:{:02}:{:02}.{:03} {} {:<3} {} caller={}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000,
        text("server"),
        text("direction"),
        text("codeName"),
        text("caller"),
    );
    if let Some(topic) = event.get("topic").and_then(Value::as_str) {
        line.push_str(&format!(" topic={topic}"));
    }
    if let Some(period) = event.get("periodMs").and_then(Value::as_u64) {
        line.push_str(&format!(" every {:.1}s", period as f64 / 1000.0));
    }
    if let Some(reply) = event.get("reply").filter(|reply| reply.is_object()) {
        let reply_text = |key: &str| reply.get(key).and_then(Value::as_str).unwrap_or("");
        line.push_str(&format!(
            " -> {} in {} ms",
            reply_text("codeName"),
            reply.get("latencyMs").and_then(Value::as_u64).unwrap_or(0)
        ));
        if !reply_text("remark").is_empty() {
            line.push_str(&format!(" remark={:?}", reply_text("remark")));
        }
    }
    let peer_word = if text("direction") == "reply" { "to" } else { "from" };
    line.push_str(&format!(" {peer_word} {}", text("peer")));
    if let Some(fields) = event.get("fields").and_then(Value::as_object) {
        for (key, value) in fields {
            line.push_str(&format!(" {key}={}", value.as_str().unwrap_or("")));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_event_prints_as_one_line_with_its_period() {
        let event = json!({
            "atMs": 3_723_004u64, "server": "broker", "direction": "in", "codeName": "HEART_BEAT",
            "caller": "10.0.0.9@1", "peer": "10.0.0.9:5000", "topic": null, "periodMs": 30_000,
            "fields": {"k": "v"}
        });
        assert_eq!(
            format_event(&event),
            "01:02:03.004 broker in  HEART_BEAT caller=10.0.0.9@1 every 30.0s from 10.0.0.9:5000 k=v"
        );
    }

    #[test]
    fn a_reply_prints_its_code_latency_and_remark() {
        let event = json!({
            "atMs": 0u64, "server": "broker", "direction": "reply", "codeName": "SEND_MESSAGE_V2",
            "caller": "pg", "peer": "10.0.0.9:5000", "topic": "T", "periodMs": null, "fields": {},
            "reply": {"code": 17, "codeName": "TOPIC_NOT_EXIST", "remark": "no route", "latencyMs": 3}
        });
        assert_eq!(
            format_event(&event),
            "00:00:00.000 broker reply SEND_MESSAGE_V2 caller=pg topic=T -> TOPIC_NOT_EXIST in 3 ms \
             remark=\"no route\" to 10.0.0.9:5000"
        );
    }

    #[test]
    fn filters_go_into_the_query_encoded() {
        let args = TapArgs {
            code: Some("SEND_MESSAGE_V2".into()),
            client: Some("a b".into()),
            ..TapArgs::default()
        };
        assert_eq!(args.path(), "/api/tap/stream?code=SEND_MESSAGE_V2&client=a%20b");
    }
}
