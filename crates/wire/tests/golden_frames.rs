//! Every golden frame written by the Java classes decodes, and re-encodes:
//! byte for byte for the ROCKETMQ binary header, and for JSON headers to bytes that decode to the
//! same command (Java-side equality is checked by `interop/java/golden.sh verify`).
//!
//! With `FERROCKET_GOLDEN_OUT=<dir>` set, our encodings are written to `<dir>` under the golden's
//! relative path, for `golden.sh verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::fs;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use ferrocket_wire::codes::version;
use ferrocket_wire::{LanguageCode, RemotingCommand, SerializeType};

const FRAME_DIRS: [&str; 2] = ["frames", "v49/frames"];

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn golden_frames() -> Vec<(String, Vec<u8>)> {
    let mut frames = Vec::new();
    for dir in FRAME_DIRS {
        let mut paths: Vec<_> = fs::read_dir(golden_root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let rel = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            frames.push((rel, fs::read(&path).unwrap()));
        }
    }
    assert!(frames.len() >= 60, "expected the golden frames, found {}", frames.len());
    frames
}

fn encode(command: &RemotingCommand) -> Vec<u8> {
    let mut out = BytesMut::new();
    command.encode(&mut out).unwrap();
    out.to_vec()
}

#[test]
fn every_golden_frame_decodes_and_reencodes() {
    let out_dir = std::env::var_os("FERROCKET_GOLDEN_OUT").map(PathBuf::from);
    for (rel, golden) in golden_frames() {
        let (command, used) = RemotingCommand::decode(&golden).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(used, golden.len(), "{rel}: trailing bytes");
        let expected_type = if rel.ends_with(".rmq.bin") {
            SerializeType::RocketMq
        } else {
            SerializeType::Json
        };
        assert_eq!(command.serialize_type, expected_type, "{rel}");
        assert_eq!(command.language, LanguageCode::JAVA, "{rel}");
        let java_version = if rel.starts_with("v49/") {
            version::V4_9_8
        } else {
            version::V5_3_3
        };
        assert_eq!(command.version, java_version, "{rel}");
        assert_eq!(command.is_response(), rel.contains(".response"), "{rel}");
        assert_eq!(
            command.is_oneway(),
            rel.contains("oneway") || rel.contains("notify_consumer_ids"),
            "{rel}"
        );

        let ours = encode(&command);
        if expected_type == SerializeType::RocketMq {
            assert_eq!(ours, golden, "{rel}: binary re-encoding differs");
        } else {
            let (again, _) = RemotingCommand::decode(&ours).unwrap();
            assert_eq!(again, command, "{rel}: JSON re-encoding decodes differently");
        }
        if let Some(dir) = &out_dir {
            let path = dir.join(&rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, &ours).unwrap();
        }
    }
}

#[test]
fn json_headers_match_java_byte_for_byte_when_ext_order_is_kept() {
    // fastjson writes bean properties alphabetically and we do too; extFields keep their decoded
    // order. So our JSON header is Java's, byte for byte, for every golden.
    for (rel, golden) in golden_frames()
        .into_iter()
        .filter(|(rel, _)| rel.ends_with(".json.bin"))
    {
        let (command, _) = RemotingCommand::decode(&golden).unwrap();
        assert_eq!(encode(&command), golden, "{rel}");
    }
}

#[test]
fn every_cut_of_every_golden_frame_is_an_error() {
    for (rel, golden) in golden_frames() {
        for cut in 0..golden.len() {
            assert!(RemotingCommand::decode(&golden[..cut]).is_err(), "{rel} cut at {cut}");
        }
    }
}

#[test]
fn worked_route_request_matches_java_modulo_version() {
    let golden = fs::read(golden_root().join("frames/get_routeinfo_by_topic.request.rmq.bin")).unwrap();
    let (command, _) = RemotingCommand::decode(&golden).unwrap();
    assert_eq!(command.code, 105);
    assert_eq!(command.ext("topic"), Some("TopicTest"));
}
