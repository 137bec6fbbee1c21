//! The console's HTML, rendered on the server from what [`super::data`] read; every value from
//! a client or the broker goes through [`escape`].

use std::collections::BTreeMap;
use std::fmt::Write;

use ferrocket_net::TapEvent;
use ferrocket_wire::body::{ClusterInfo, KvTable};
use ferrocket_wire::message::{OffsetMessageId, StoredMessage};
use serde_json::{Value, json};

use super::actions::TEST_BODY_BYTES_MAX;
use super::data::{GroupRow, TopicRow};
use super::history::{self, History};

pub const CSS: &str = include_str!("assets/console.css");
pub const JS: &str = include_str!("assets/console.js");

/// Body bytes shown of one message (as text and as hex).
const BODY_SHOWN_BYTES_MAX: usize = 4096;

/// The runtime-info keys the cluster page shows, with their labels, in this order.
const RUNTIME_KEYS: &[(&str, &str)] = &[
    ("brokerVersionDesc", "version"),
    ("bootTimestamp", "boot time (ms)"),
    ("runtime", "uptime"),
    ("commitLogDiskRatio", "disk used ratio"),
    ("commitLogDirCapacity", "disk"),
    ("putTps", "TPS in"),
    ("getTransferredTps", "TPS out"),
    ("msgPutTotalTodayNow", "messages in"),
    ("msgGetTotalTodayNow", "messages out"),
];

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn layout(title: &str, active: &str, body: &str) -> String {
    let mut nav = String::new();
    for (href, name) in [
        ("/", "Cluster"),
        ("/topics", "Topics"),
        ("/groups", "Consumer groups"),
        ("/messages", "Messages"),
        ("/live", "Live traffic"),
    ] {
        let class = if name == active { " class=\"active\"" } else { "" };
        let _ = write!(nav, "<a href=\"{href}\"{class}>{name}</a>");
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title} · Ferrocket</title><link rel=\"icon\" href=\"data:,\">\
         <link rel=\"stylesheet\" href=\"/assets/console.css\"></head><body>\
         <header><b>Ferrocket</b><nav>{nav}</nav></header><main><h1>{title}</h1>{body}</main>\
         <script src=\"/assets/console.js\"></script></body></html>",
        title = escape(title)
    )
}

fn error_box(error: &str) -> String {
    format!("<p class=\"error\">{}</p>", escape(error))
}

pub fn cluster(
    role: &str,
    cluster: &Result<ClusterInfo, String>,
    brokers: &BTreeMap<String, Result<KvTable, String>>,
    runtime: Option<&Result<KvTable, String>>,
) -> String {
    let mut body = format!("<p>This process: <b>{}</b></p>", escape(role));
    match cluster {
        Ok(info) => {
            body.push_str(
                "<h2>Brokers</h2><p class=\"note\">Master/slave pairs share a broker name; a slave's \
                 replication lag is its master's commit-log max offset minus its own.</p>\
                 <table id=\"brokers\"><tr><th>cluster</th><th>broker</th><th>id</th><th>role</th>\
                 <th>address</th><th>version</th><th>uptime</th><th>disk used</th><th>TPS in</th>\
                 <th>TPS out</th><th>replication lag (bytes)</th></tr>",
            );
            for (cluster_name, broker_names) in &info.cluster_addr_table {
                for broker_name in broker_names {
                    let Some(data) = info.broker_addr_table.get(broker_name) else {
                        continue;
                    };
                    let master = data.broker_addrs.get(&0).and_then(|addr| brokers.get(addr));
                    for (id, addr) in &data.broker_addrs {
                        let role = if *id == 0 { "master" } else { "slave" };
                        let own = brokers.get(addr);
                        let figure = |key: &str| match own {
                            Some(Ok(table)) => table.table.get(key).map_or_else(String::new, |value| {
                                if key.ends_with("Tps") {
                                    first_figure(value).to_owned()
                                } else {
                                    value.clone()
                                }
                            }),
                            Some(Err(error)) => format!("unreachable: {error}"),
                            None => String::new(),
                        };
                        let lag = match (*id, master, own) {
                            (0, _, _) => "—".to_owned(),
                            (_, Some(Ok(master)), Some(Ok(slave))) => {
                                replication_lag(master, slave).map_or_else(String::new, |lag| lag.to_string())
                            }
                            (_, None, _) => "no master".to_owned(),
                            _ => String::new(),
                        };
                        let _ = write!(
                            body,
                            "<tr data-broker=\"{addr}\"><td>{}</td><td>{}</td><td>{id}</td><td>{role}</td><td>{addr}</td>\
                             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"lag\">{}</td></tr>",
                            escape(cluster_name),
                            escape(broker_name),
                            escape(&figure("brokerVersionDesc")),
                            escape(&figure("runtime")),
                            escape(&figure("commitLogDiskRatio")),
                            escape(&figure("putTps")),
                            escape(&figure("getTransferredTps")),
                            escape(&lag),
                            addr = escape(addr),
                        );
                    }
                }
            }
            body.push_str("</table>");
        }
        Err(error) => body.push_str(&error_box(&format!("name server: {error}"))),
    }
    match runtime {
        Some(Ok(table)) => {
            body.push_str("<h2>This broker</h2><table id=\"runtime\">");
            for (key, label) in RUNTIME_KEYS {
                if let Some(value) = table.table.get(*key) {
                    let _ = write!(body, "<tr><th>{label}</th><td>{}</td></tr>", escape(value));
                }
            }
            body.push_str("</table>");
        }
        Some(Err(error)) => body.push_str(&error_box(&format!("broker: {error}"))),
        None => {}
    }
    layout("Cluster", "Cluster", &body)
}

/// Java's TPS values are three figures (`"12.0 11.5 11.9"`: 10 s, 1 min, 10 min); the first.
fn first_figure(value: &str) -> &str {
    value.split_whitespace().next().unwrap_or(value)
}

/// Bytes a slave's commit log is behind its master's, from their runtime tables; `None` when a
/// table lacks `commitLogMaxOffset`. A slave ahead (the master restarted on less) shows 0.
pub fn replication_lag(master: &KvTable, slave: &KvTable) -> Option<i64> {
    let max_offset = |table: &KvTable| table.table.get("commitLogMaxOffset")?.parse::<i64>().ok();
    Some(max_offset(master)?.saturating_sub(max_offset(slave)?).max(0))
}

fn notice_html(notice: Option<&Result<String, String>>) -> String {
    match notice {
        Some(Ok(text)) => format!("<p class=\"ok\" id=\"notice\">{}</p>", escape(text)),
        Some(Err(text)) => format!("<p class=\"error\" id=\"notice\">{}</p>", escape(text)),
        None => String::new(),
    }
}

fn admin_off_html(admin_off: Option<&str>) -> String {
    admin_off.map_or_else(String::new, |why| {
        format!(
            "<p class=\"note\" id=\"admin-off\">Admin actions are off: {}.</p>",
            escape(why)
        )
    })
}

fn perm_text(perm: i32) -> String {
    let read = if perm & 4 != 0 { "R" } else { "-" };
    let write = if perm & 2 != 0 { "W" } else { "-" };
    format!("{read}{write}")
}

pub fn topics(
    topics: &Result<Vec<TopicRow>, String>,
    admin_off: Option<&str>,
    notice: Option<&Result<String, String>>,
    charts: &History,
) -> String {
    let admin = admin_off.is_none();
    let mut body = notice_html(notice);
    if admin {
        body.push_str(
            "<form method=\"post\" action=\"/topics\" id=\"create-topic\"><h2>Create or update a topic</h2>\
             <label>name <input name=\"name\" required></label> \
             <label>queues <input name=\"queues\" type=\"number\" min=\"1\" max=\"256\" value=\"8\"></label> \
             <label><input type=\"checkbox\" name=\"readable\" checked> read</label> \
             <label><input type=\"checkbox\" name=\"writable\" checked> write</label> \
             <button type=\"submit\">Create or update</button></form>",
        );
    } else {
        body.push_str(&admin_off_html(admin_off));
    }
    match topics {
        Ok(rows) => {
            body.push_str(
                "<table id=\"topics\"><tr><th>topic</th><th>read/write queues</th><th>perm</th>\
                 <th>message type</th><th>min offset</th><th>max offset</th><th>messages/s, last hour</th>\
                 <th></th></tr>",
            );
            for row in rows {
                let delete = if admin {
                    format!(
                        "<form method=\"post\" action=\"/topics/delete\" class=\"delete-topic\">\
                         <input type=\"hidden\" name=\"name\" value=\"{}\"><button type=\"submit\">Delete</button></form>",
                        escape(&row.name)
                    )
                } else {
                    String::new()
                };
                let _ = write!(
                    body,
                    "<tr data-topic=\"{name}\"><td>{name}</td><td>{}/{}</td><td>{}</td><td>{}</td>\
                     <td>{}</td><td>{}</td><td>{}</td><td>{delete}</td></tr>",
                    row.read_queues,
                    row.write_queues,
                    perm_text(row.perm),
                    escape(&row.message_type),
                    row.min_offset,
                    row.max_offset,
                    history::svg(&charts.get(&format!("topic:{}", row.name)), "messages/s"),
                    name = escape(&row.name),
                );
            }
            body.push_str("</table><p class=\"note\">Offsets are summed over the topic's queues.</p>");
        }
        Err(error) => body.push_str(&error_box(error)),
    }
    layout("Topics", "Topics", &body)
}

pub fn groups(
    groups: &Result<Vec<GroupRow>, String>,
    admin_off: Option<&str>,
    notice: Option<&Result<String, String>>,
    charts: &History,
) -> String {
    let mut body = notice_html(notice);
    match admin_off {
        None => body.push_str(
            "<form method=\"post\" action=\"/groups/reset\" id=\"reset-offset\">\
             <h2>Reset a group's offsets to a time</h2>\
             <label>group <input name=\"group\" required></label> \
             <label>topic <input name=\"topic\" required></label> \
             <label>time <input type=\"datetime-local\" step=\"1\" name=\"when\"></label> \
             <label>or ms since 1970 <input name=\"timestamp\" required></label> \
             <button type=\"submit\">Reset</button>\
             <span class=\"note\">The group goes to the first message stored at or after the time \
             (forced: back or forward).</span></form>",
        ),
        Some(_) => body.push_str(&admin_off_html(admin_off)),
    }
    match groups {
        Ok(rows) => {
            body.push_str(
                "<table id=\"groups\"><tr><th>group</th><th>members</th><th>lag</th><th>consume TPS</th>\
                 <th>lag, last hour</th></tr>",
            );
            for row in rows {
                let _ = write!(
                    body,
                    "<tr data-group=\"{name}\"><td><a href=\"#g-{name}\">{name}</a></td><td>{}</td>\
                     <td class=\"lag\">{}</td><td>{:.1}</td><td>{}</td></tr>",
                    row.members.len(),
                    row.lag(),
                    row.consume_tps,
                    history::svg(&charts.get(&format!("group:{}", row.name)), "lag"),
                    name = escape(&row.name),
                );
            }
            body.push_str("</table>");
            for row in rows
                .iter()
                .filter(|row| !row.members.is_empty() || !row.queues.is_empty())
            {
                let _ = write!(body, "<h2 id=\"g-{name}\">{name}</h2><ul>", name = escape(&row.name));
                for (client_id, addr) in &row.members {
                    let _ = write!(body, "<li>{} at {}</li>", escape(client_id), escape(addr));
                }
                body.push_str(
                    "</ul><table class=\"queues\"><tr><th>topic</th><th>queue</th><th>broker offset</th>\
                     <th>consumer offset</th><th>lag</th></tr>",
                );
                for queue in &row.queues {
                    let _ = write!(
                        body,
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        escape(&queue.topic),
                        queue.queue_id,
                        queue.broker_offset,
                        queue.consumer_offset,
                        queue.lag
                    );
                }
                body.push_str("</table>");
            }
        }
        Err(error) => body.push_str(&error_box(error)),
    }
    layout("Consumer groups", "Consumer groups", &body)
}

pub fn messages(
    topic: &str,
    key: &str,
    found: Option<&Result<Vec<StoredMessage>, String>>,
    admin_off: Option<&str>,
    notice: Option<&Result<String, String>>,
) -> String {
    let admin = admin_off.is_none();
    let mut body = notice_html(notice);
    let _ = write!(
        body,
        "<form method=\"get\" action=\"/messages\" id=\"find-message\">\
         <label>topic <input name=\"topic\" value=\"{topic}\" required></label> \
         <select name=\"by\"><option value=\"key\">by key</option><option value=\"id\">by id</option>\
         <option value=\"offset\">by queue offset</option></select> \
         <label>key <input name=\"key\" value=\"{key}\"></label> \
         <label>id <input name=\"id\"></label> \
         <label>queue <input name=\"queue\" type=\"number\" min=\"0\"></label> \
         <label>offset <input name=\"offset\" type=\"number\" min=\"0\"></label> \
         <button type=\"submit\">Find</button></form>",
        topic = escape(topic),
        key = escape(key)
    );
    if admin {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/messages/send\" id=\"send-message\"><h2>Send a test message</h2>\
             <label>topic <input name=\"topic\" value=\"{}\" required></label> \
             <label>tag <input name=\"tag\"></label> <label>key <input name=\"key\"></label> \
             <label>body <input name=\"body\" maxlength=\"{TEST_BODY_BYTES_MAX}\"></label> \
             <button type=\"submit\">Send</button></form>",
            escape(topic)
        );
    } else {
        body.push_str(&admin_off_html(admin_off));
    }
    match found {
        Some(Ok(messages)) if messages.is_empty() => body.push_str("<p id=\"none\">No message found.</p>"),
        Some(Ok(messages)) => {
            for message in messages {
                body.push_str(&message_html(message, admin));
            }
        }
        Some(Err(error)) => body.push_str(&error_box(error)),
        None => {}
    }
    layout("Messages", "Messages", &body)
}

fn message_html(message: &StoredMessage, admin: bool) -> String {
    let offset_id = OffsetMessageId {
        store_host: message.store_host,
        physical_offset: message.physical_offset,
    }
    .to_string();
    let mut html = format!(
        "<section class=\"message\"><table><tr><th>topic</th><td>{}</td></tr>\
         <tr><th>offset message id</th><td class=\"offset-id\">{offset_id}</td></tr>\
         <tr><th>queue / offset</th><td>{} / {}</td></tr><tr><th>commit-log offset</th><td>{}</td></tr>\
         <tr><th>born / stored (ms)</th><td>{} / {}</td></tr><tr><th>born host</th><td>{}</td></tr>",
        escape(&message.topic),
        message.queue_id,
        message.queue_offset,
        message.physical_offset,
        message.born_timestamp_ms,
        message.store_timestamp_ms,
        message.born_host
    );
    for (name, value) in message.properties.iter() {
        let _ = write!(html, "<tr><th>{}</th><td>{}</td></tr>", escape(name), escape(value));
    }
    let shown = message
        .body
        .get(..message.body.len().min(BODY_SHOWN_BYTES_MAX))
        .unwrap_or(&[]);
    let hex: Vec<String> = shown.iter().map(|byte| format!("{byte:02x}")).collect();
    let _ = write!(
        html,
        "</table><h3>body ({} bytes)</h3><pre class=\"body-text\">{}</pre><pre class=\"body-hex\">{}</pre>",
        message.body.len(),
        escape(&String::from_utf8_lossy(shown)),
        hex.join(" ")
    );
    if admin {
        let _ = write!(
            html,
            "<form method=\"post\" action=\"/messages/resend\" class=\"resend\">\
             <input type=\"hidden\" name=\"msg_id\" value=\"{offset_id}\">\
             <input type=\"hidden\" name=\"topic\" value=\"{}\">\
             Resend to a consumer: <label>group <input name=\"group\" required></label> \
             <label>client id <input name=\"client\" required></label> \
             <button type=\"submit\">Resend</button></form>",
            escape(&message.topic)
        );
    }
    html.push_str("</section>");
    html
}

pub fn live(servers: &[&str]) -> String {
    let body = format!(
        "<p>Every request {} decodes, as it arrives, and its answer (dir <i>reply</i>: response \
         code, latency, remark). Recording runs only while a page or \
         <code>ferrocket tap</code> watches.</p>\
         <form id=\"tap-filter\"><label>code <input name=\"code\" placeholder=\"SEND_MESSAGE_V2\"></label> \
         <label>topic <input name=\"topic\"></label> <label>client <input name=\"client\"></label> \
         <button type=\"submit\">Filter</button> <span id=\"tap-status\">connecting</span></form>\
         <table id=\"tap\"><thead><tr><th>time</th><th>server</th><th>dir</th><th>code</th><th>caller</th>\
         <th>topic</th><th>period</th><th>answer</th><th>fields</th></tr></thead><tbody></tbody></table>",
        escape(&servers.join(" and "))
    );
    layout("Live traffic", "Live traffic", &body)
}

/// One event as the stream sends it (and `ferrocket tap` reads it).
pub fn tap_event_json(server: &str, event: &TapEvent) -> Value {
    let fields: serde_json::Map<String, Value> = event
        .fields
        .iter()
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect();
    json!({
        "seq": event.seq,
        "atMs": event.at_ms,
        "server": server,
        "direction": event.direction.as_str(),
        "code": event.code,
        "codeName": event.code_name,
        "caller": event.caller,
        "peer": event.peer,
        "topic": event.topic,
        "periodMs": event.period_ms,
        "fields": fields,
        "reply": event.reply.as_ref().map(|reply| json!({
            "code": reply.code,
            "codeName": reply.code_name,
            "remark": reply.remark,
            "latencyMs": reply.latency_ms,
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_from_clients_is_escaped() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        let rows = Ok(vec![TopicRow {
            name: "<script>".into(),
            ..TopicRow::default()
        }]);
        let page = topics(&rows, None, None, &History::default());
        assert!(page.contains("&lt;script&gt;") && !page.contains("<td><script>"));
    }

    #[test]
    fn admin_form_only_when_allowed() {
        let charts = History::default();
        assert!(topics(&Ok(Vec::new()), None, None, &charts).contains("id=\"create-topic\""));
        let off = topics(&Ok(Vec::new()), Some("no"), None, &charts);
        assert!(!off.contains("id=\"create-topic\"") && off.contains("id=\"admin-off\""));
        assert!(!groups(&Ok(Vec::new()), Some("no"), None, &charts).contains("id=\"reset-offset\""));
        assert!(groups(&Ok(Vec::new()), None, None, &charts).contains("id=\"reset-offset\""));
        assert!(!messages("", "", None, Some("no"), None).contains("id=\"send-message\""));
        assert!(messages("", "", None, None, None).contains("id=\"send-message\""));
    }

    #[test]
    fn a_slave_lags_by_the_bytes_its_master_has_more() {
        let table = |offset: &str| KvTable {
            table: [("commitLogMaxOffset".to_owned(), offset.to_owned())]
                .into_iter()
                .collect(),
        };
        assert_eq!(replication_lag(&table("1000"), &table("400")), Some(600));
        assert_eq!(replication_lag(&table("400"), &table("1000")), Some(0));
        assert_eq!(replication_lag(&table("x"), &table("1")), None);
    }
}
