// The web console in a real browser (headless Chromium, the Debian package, driven over the
// DevTools protocol by puppeteer-core) against `ferrocket standalone`, with traffic from the
// official Java client (traffic/Traffic.java). Run by run.sh, which sets:
//   FERROCKET_BIN, CHROMIUM, JAVA_CLASSPATH (the 5.3.3 client's), ARTEFACTS (screenshot dir).
// Checks: every page loads without console errors; the topic created from the Topics page
// exists; the live view shows SEND_MESSAGE_V2 and PULL_MESSAGE from the Java clients; the group
// page shows the lag the traffic left (5); the message with key "find-me" is found with its body.
// The admin actions (issue 16, session 7): a topic updated and deleted from the Topics page; the
// group's offsets reset by time (lag 15 after a reset to 0); a test message sent from the page
// and found by its key; a stored message resent to the live Java consumer (CONSUME_MESSAGE_
// DIRECTLY, its listener prints the body); the live view's answers (SUCCESS and latency); the
// cluster page's per-broker figures; and a console bound to a non-loopback address refuses
// every action (403) and shows no forms. Session 8: a real slave (ACL 1.0 on) beside the
// standalone shows on the cluster page with its replication lag, and its own console (loopback,
// ACL on) loads every page, shows no forms and refuses every action. The console is ours alone:
// there is no Java counterpart to run first.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const here = dirname(fileURLToPath(import.meta.url));
const artefacts = process.env.ARTEFACTS;
const TOPIC = "ConsoleTopic";
const GROUP = "ConsoleGroup";
const EXPECTED_LAG = 5;
const started = Date.now();
const children = [];
const dataDirs = [];
const failures = [];

function log(text) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
}

function check(ok, what) {
  log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
}

function startStandalone(dataDir, consoleHost = "127.0.0.1") {
  dataDirs.push(dataDir);
  return startServer("standalone", [
    "standalone", "--host", "127.0.0.1", "--namesrv-port", "0", "--broker-port", "0",
    "--no-grpc", "--console-port", "0", "--console-host", consoleHost, "--console-sample-ms", "1000",
    "--data-dir", dataDir,
  ], ["namesrv", "broker", "console"]);
}

// Runs `ferrocket args...`; resolves with the addresses of the `roles` it announces
// ("listening <role> <addr>").
function startServer(what, args, roles) {
  const child = spawn(process.env.FERROCKET_BIN, args,
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, FERROCKET_LOG: "warn" } });
  children.push(child);
  return new Promise((resolve, reject) => {
    const addrs = {};
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not announce its ports in 20 s`)), 20000);
    child.on("exit", (code) => reject(new Error(`${what} exited with ${code}`)));
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      for (const match of buffered.matchAll(/^listening (\w+) (\S+)$/gm)) addrs[match[1]] = match[2];
      if (roles.every((role) => addrs[role])) {
        clearTimeout(timer);
        resolve(addrs);
      }
    });
  });
}

// A slave of the standalone's broker-a, with ACL 1.0 on (127.0.0.1 whitelisted, so that the
// consoles can read its runtime figures) and its own console on loopback.
function startAclSlave(namesrv) {
  const dir = mkdtempSync(join(tmpdir(), "ferrocket-console-slave-"));
  dataDirs.push(dir);
  writeFileSync(join(dir, "plain_acl.yml"), ["globalWhiteRemoteAddresses:", "  - 127.0.0.1", "accounts:",
    "  - accessKey: consoleAdmin", "    secretKey: consoleSecret1", "    admin: true", ""].join("\n"));
  writeFileSync(join(dir, "broker.conf"), ["brokerClusterName=DefaultCluster", "brokerName=broker-a",
    "brokerId=1", "brokerRole=SLAVE", `namesrvAddr=${namesrv}`, "listenPort=0", "brokerIP1=127.0.0.1",
    "brokerIP2=127.0.0.1", `storePathRootDir=${join(dir, "store")}`, "aclEnable=true",
    `plainAclFile=${join(dir, "plain_acl.yml")}`, ""].join("\n"));
  return startServer("slave", ["broker", "-c", join(dir, "broker.conf"), "--no-grpc",
    "--console-port", "0", "--console-host", "127.0.0.1"], ["broker", "console"]);
}

// The five admin actions, posted without the page: the HTTP statuses.
async function postActions(base) {
  const statuses = [];
  for (const [path, form] of [["/topics", "name=X&queues=1"], ["/topics/delete", `name=${TOPIC}`],
    ["/groups/reset", `group=${GROUP}&topic=${TOPIC}&timestamp=0`], ["/messages/send", `topic=${TOPIC}&body=x`],
    ["/messages/resend", `group=G&client=C&msg_id=M`]]) {
    const response = await fetch(base + path, { method: "POST", body: form,
      headers: { "content-type": "application/x-www-form-urlencoded" }, redirect: "manual" });
    statuses.push(response.status);
  }
  return statuses;
}

// Resolves when the traffic is done and the live consumer is up (or the client exited):
// { code, output(), clientId, stop() }; stop() closes stdin and waits for the exit.
function runTraffic(namesrv) {
  const child = spawn("java", ["-cp", process.env.JAVA_CLASSPATH, join(here, "traffic", "Traffic.java"),
    namesrv, TOPIC, GROUP], { stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  const stop = async () => { child.stdin.end(); return exited; };
  return new Promise((resolve) => {
    const ready = () => {
      const match = output.match(/^LIVE READY (\S+)$/m);
      if (match) resolve({ code: 0, output: () => output, clientId: match[1], stop });
    };
    child.stdout.on("data", (chunk) => { output += chunk; ready(); });
    child.stderr.on("data", (chunk) => { output += chunk; });
    exited.then((code) => resolve({ code, output: () => output, clientId: "", stop }));
  });
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click(selector)]);
  return page.$eval("#notice", (element) => element.textContent).catch(() => "");
}

async function shot(page, name) {
  await page.screenshot({ path: join(artefacts, `${name}.png`), fullPage: true });
}

async function main() {
  mkdirSync(artefacts, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "ferrocket-console-"));
  const addrs = await startStandalone(dataDir);
  const base = `http://${addrs.console}`;
  const namesrv = addrs.namesrv.replace("0.0.0.0", "127.0.0.1");
  log(`standalone up: console ${base}, name server ${namesrv}`);

  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const consoleErrors = [];
  const openPage = async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(`${page.url()}: ${message.text()}`);
    });
    page.on("pageerror", (error) => consoleErrors.push(`${page.url()}: ${error.message}`));
    page.on("response", (response) => {
      if (response.status() >= 400) consoleErrors.push(`${response.url()}: HTTP ${response.status()}`);
    });
    return page;
  };
  try {
    const page = await openPage();

    // Cluster: the one broker, master, with its runtime figures.
    await page.goto(`${base}/`, { waitUntil: "load" });
    const brokers = await page.$$eval("#brokers td", (cells) => cells.map((cell) => cell.textContent));
    check(brokers.includes("broker-a") && brokers.includes("master"), `cluster page lists broker-a as master (${brokers})`);
    check(brokers.includes("V5_3_3") && brokers.includes("—"),
      `cluster page: the broker's own figures over its port, no lag for a master (${brokers})`);
    const version = await page.$eval("#runtime", (table) => table.textContent);
    check(version.includes("V5_3_3"), "cluster page shows the broker's version");
    await shot(page, "1-cluster");

    // Topics: create the traffic's topic from the page's form.
    await page.goto(`${base}/topics`, { waitUntil: "load" });
    await page.type("#create-topic input[name=name]", TOPIC);
    await page.$eval("#create-topic input[name=queues]", (input) => { input.value = "4"; });
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#create-topic button")]);
    const notice = await page.$eval("#notice", (element) => element.textContent).catch(() => "");
    check(notice.includes(`topic ${TOPIC} created`), `the form answers "${notice}"`);
    const queues = await page.$eval(`tr[data-topic=${TOPIC}] td:nth-child(2)`, (cell) => cell.textContent).catch(() => "");
    check(queues === "4/4", `the created topic is listed with 4/4 queues (${queues})`);
    await shot(page, "2-topic-created");

    // Live view: watch while the Java clients run.
    const live = await openPage();
    await live.goto(`${base}/live`, { waitUntil: "load" });
    await live.waitForFunction(() => document.getElementById("tap-status").textContent === "watching", { timeout: 10000 });
    log("live view watching; running the Java client");
    const traffic = await runTraffic(namesrv);
    check(traffic.code === 0 && traffic.output().includes("TRAFFIC DONE"),
      `the Java client sent and consumed (exit ${traffic.code})${traffic.code === 0 ? "" : "\n" + traffic.output()}`);
    const seen = async () => live.$$eval("#tap tr.tap-event", (rows) => rows.map((row) => ({
      code: row.dataset.code, caller: row.cells[4].textContent, topic: row.cells[5].textContent,
    })));
    // The stream delivers within a poll or two of the last send.
    await live.waitForFunction(() => {
      const codes = [...document.querySelectorAll("#tap tr.tap-event")].map((row) => row.dataset.code);
      return codes.filter((code) => code === "SEND_MESSAGE_V2").length >= 15 && codes.includes("PULL_MESSAGE");
    }, { timeout: 10000 }).catch(() => {});
    const rows = await seen();
    const sends = rows.filter((row) => row.code === "SEND_MESSAGE_V2" && row.topic === TOPIC);
    const pulls = rows.filter((row) => row.code === "PULL_MESSAGE" && row.topic === TOPIC);
    check(sends.length >= 15, `live view: ${sends.length} SEND_MESSAGE_V2 of ${TOPIC} (15 sent)`);
    check(sends.some((row) => row.caller.includes("console-producer")),
      `live view: sends from the producer's client id (${sends[0]?.caller})`);
    check(pulls.length >= 1 && pulls.some((row) => row.caller.includes("console-consumer")),
      `live view: PULL_MESSAGE from the consumer's client id (${pulls.length}, ${pulls[0]?.caller})`);
    check(rows.some((row) => row.code === "HEART_BEAT"), "live view: the clients' heartbeats");
    const replies = await live.$$eval("#tap tr.tap-reply", (rows) => rows.map((row) => ({
      code: row.dataset.code, reply: row.dataset.reply, answer: row.cells[7].textContent, dir: row.cells[2].textContent,
    })));
    const sendReplies = replies.filter((row) => row.code === "SEND_MESSAGE_V2");
    check(sendReplies.length >= 15 && sendReplies.every((row) => row.reply === "SUCCESS" && row.dir === "reply"
      && /^SUCCESS in \d+ ms/.test(row.answer)),
      `live view: ${sendReplies.length} answers to the sends, SUCCESS with latency (${sendReplies[0]?.answer})`);
    await shot(live, "3-live");
    // The filter: only pulls.
    await live.type("#tap-filter input[name=code]", "SEND_MESSAGE_V2");
    await live.click("#tap-filter button");
    await live.waitForFunction(() => document.getElementById("tap-status").textContent === "watching", { timeout: 10000 });
    check((await seen()).length === 0, "live view: a new filter starts an empty table");
    await live.close();

    // Consumer groups: the lag the traffic left (offsets are committed at the consumer's shutdown).
    let lag = "";
    for (let attempt = 0; attempt < 20 && lag !== String(EXPECTED_LAG); attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      await page.goto(`${base}/groups`, { waitUntil: "load" });
      lag = await page.$eval(`tr[data-group=${GROUP}] td.lag`, (cell) => cell.textContent).catch(() => "");
    }
    check(lag === String(EXPECTED_LAG), `groups page: ${GROUP} lag ${lag} (expected ${EXPECTED_LAG})`);
    const lagChart = await page.$eval(`tr[data-group=${GROUP}] svg.chart`,
      (svg) => ({ points: Number(svg.dataset.points), title: svg.textContent })).catch(() => ({ points: 0 }));
    check(lagChart.points >= 2, `groups page: a lag chart of ${lagChart.points} samples (${lagChart.title})`);
    await shot(page, "4-groups");

    // The topic's rate chart (a sample a second here): it saw the sends.
    await page.goto(`${base}/topics`, { waitUntil: "load" });
    const rateChart = await page.$eval(`tr[data-topic=${TOPIC}] svg.chart`,
      (svg) => ({ points: Number(svg.dataset.points), title: svg.textContent })).catch(() => ({ points: 0, title: "" }));
    const peak = Number((rateChart.title.match(/max ([0-9.]+)/) || [])[1] || 0);
    check(rateChart.points >= 2 && peak > 0, `topics page: a rate chart of ${rateChart.points} samples (${rateChart.title})`);
    await shot(page, "4b-topics-chart");

    // Messages: by key, through the form.
    await page.goto(`${base}/messages`, { waitUntil: "load" });
    await page.type("#find-message input[name=topic]", TOPIC);
    await page.select("#find-message select[name=by]", "key");
    await page.type("#find-message input[name=key]", "find-me");
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#find-message button")]);
    const bodies = await page.$$eval("pre.body-text", (pres) => pres.map((pre) => pre.textContent));
    check(bodies.length === 1 && bodies[0] === "hello find-me", `messages page: found by key (${JSON.stringify(bodies)})`);
    const properties = await page.$eval("section.message", (section) => section.textContent).catch(() => "");
    check(properties.includes("KEYS") && properties.includes("TagA"), "messages page: shows the properties");
    const hex = await page.$eval("pre.body-hex", (pre) => pre.textContent).catch(() => "");
    check(hex.startsWith("68 65 6c 6c 6f"), "messages page: shows the body in hex");
    await shot(page, "5-message-by-key");
    // By id: the unique id (UNIQ_KEY) the page showed.
    const uniqueId = await page.$$eval("section.message tr", (rows) =>
      rows.filter((row) => row.cells[0]?.textContent === "UNIQ_KEY").map((row) => row.cells[1].textContent)[0] || "");
    await page.goto(`${base}/messages?topic=${TOPIC}&by=id&id=${uniqueId}`, { waitUntil: "load" });
    const byId = await page.$$eval("pre.body-text", (pres) => pres.map((pre) => pre.textContent));
    check(uniqueId.length > 0 && byId.length === 1 && byId[0] === "hello find-me",
      `messages page: found by unique id ${uniqueId} (${JSON.stringify(byId)})`);
    // And by queue offset: queue of that message, its offset.
    await page.goto(`${base}/messages?topic=${TOPIC}&by=offset&queue=0&offset=0`, { waitUntil: "load" });
    const byOffset = await page.$$eval("section.message", (sections) => sections.length);
    const said = await page.$eval("main", (main) => main.textContent.slice(-300));
    check(byOffset === 1, `messages page: one message at queue 0 offset 0 (${byOffset}: ${said})`);
    await shot(page, "6-message-by-offset");

    // Topic update and delete, on a scratch topic.
    const SCRATCH = "ConsoleScratch";
    await page.goto(`${base}/topics`, { waitUntil: "load" });
    await page.type("#create-topic input[name=name]", SCRATCH);
    await page.$eval("#create-topic input[name=queues]", (input) => { input.value = "2"; });
    check((await submit(page, "#create-topic button")).includes(`topic ${SCRATCH} created`), "topics page: scratch topic created");
    await page.type("#create-topic input[name=name]", SCRATCH);
    await page.$eval("#create-topic input[name=queues]", (input) => { input.value = "3"; });
    await page.$eval("#create-topic input[name=writable]", (input) => { input.checked = false; });
    const updated = await submit(page, "#create-topic button");
    const scratchRow = await page.$eval(`tr[data-topic=${SCRATCH}]`, (row) => [row.cells[1].textContent, row.cells[2].textContent]).catch(() => []);
    check(updated.includes(`topic ${SCRATCH} updated`) && scratchRow[0] === "3/3" && scratchRow[1] === "R-",
      `topics page: update answers "${updated}", row ${scratchRow}`);
    await shot(page, "7-topic-updated");
    const deleted = await submit(page, `tr[data-topic=${SCRATCH}] form.delete-topic button`);
    const gone = (await page.$(`tr[data-topic=${SCRATCH}]`)) === null;
    check(deleted.includes(`topic ${SCRATCH} deleted`) && gone, `topics page: delete answers "${deleted}", row gone: ${gone}`);
    const route = await fetch(`${base}/`).then((response) => response.text());
    check(route.includes("broker-a"), "the name server still answers after the delete");

    // Reset the group's offsets to the beginning of time: every message is lag again.
    await page.goto(`${base}/groups`, { waitUntil: "load" });
    await page.type("#reset-offset input[name=group]", GROUP);
    await page.type("#reset-offset input[name=topic]", TOPIC);
    await page.type("#reset-offset input[name=timestamp]", "0");
    const reset = await submit(page, "#reset-offset button");
    const resetLag = await page.$eval(`tr[data-group=${GROUP}] td.lag`, (cell) => cell.textContent).catch(() => "");
    check(reset.includes(`group ${GROUP} reset`) && resetLag === "15", `groups page: reset answers "${reset.slice(0, 120)}", lag ${resetLag} (15)`);
    await shot(page, "8-offset-reset");

    // A test message from the page, then found by its key.
    await page.goto(`${base}/messages`, { waitUntil: "load" });
    await page.type("#send-message input[name=topic]", TOPIC);
    await page.type("#send-message input[name=tag]", "TagC");
    await page.type("#send-message input[name=key]", "console-sent");
    await page.type("#send-message input[name=body]", "from the console");
    const sent = await submit(page, "#send-message button");
    check(/^sent [0-9A-F]+ to queue \d+ at offset \d+$/.test(sent), `messages page: send answers "${sent}"`);
    await page.goto(`${base}/messages?topic=${TOPIC}&by=key&key=console-sent`, { waitUntil: "load" });
    const sentBodies = await page.$$eval("pre.body-text", (pres) => pres.map((pre) => pre.textContent));
    check(sentBodies.length === 1 && sentBodies[0] === "from the console", `messages page: the sent message found (${JSON.stringify(sentBodies)})`);

    // Resend "find-me" to the live Java consumer.
    await page.goto(`${base}/messages?topic=${TOPIC}&by=key&key=find-me`, { waitUntil: "load" });
    await page.type("section.message form.resend input[name=group]", `${GROUP}Live`);
    await page.type("section.message form.resend input[name=client]", traffic.clientId);
    const resent = await submit(page, "section.message form.resend button");
    check(traffic.clientId !== "" && resent.includes("CR_SUCCESS"), `messages page: resend to ${traffic.clientId} answers "${resent}"`);
    await shot(page, "9-resent");
    const exit = await traffic.stop();
    check(exit === 0 && traffic.output().includes("LISTENER hello find-me"),
      `the live Java consumer's listener got the resent message (exit ${exit})`);

    // A console on a non-loopback address: no forms, every action refused.
    const remote = await startStandalone(mkdtempSync(join(tmpdir(), "ferrocket-console-remote-")), "0.0.0.0");
    const remoteBase = `http://${remote.console.replace("0.0.0.0", "127.0.0.1")}`;
    const remoteTopics = await fetch(`${remoteBase}/topics`).then((response) => response.text());
    check(remoteTopics.includes("admin-off") && !remoteTopics.includes("create-topic"), "non-loopback console: no admin forms");
    const statuses = await postActions(remoteBase);
    check(statuses.every((status) => status === 403), `non-loopback console: every action refused (${statuses})`);

    // A real slave (ACL on) beside the standalone: the standalone's cluster page shows its
    // replication lag once it caught up with the traffic; its own console (loopback, ACL on)
    // loads every page, offers no forms and refuses every action.
    const slave = await startAclSlave(namesrv);
    log(`ACL slave up: broker ${slave.broker}, console ${slave.console}`);
    let slaveRow = [];
    for (let attempt = 0; attempt < 30 && slaveRow[10] !== "0"; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      await page.goto(`${base}/`, { waitUntil: "load" });
      slaveRow = await page.$$eval("#brokers tr", (rows) => rows.map((row) => [...row.cells].map((cell) => cell.textContent))
        .find((cells) => cells[3] === "slave") || []);
    }
    check(slaveRow[1] === "broker-a" && slaveRow[4] === `127.0.0.1:${slave.broker.split(":").pop()}` && slaveRow[5] === "V5_3_3" && slaveRow[10] === "0",
      `cluster page: the slave ${slave.broker} with its figures, caught up (replication lag ${slaveRow[10]}: ${slaveRow})`);
    await shot(page, "10-cluster-with-slave");
    const slaveBase = `http://${slave.console}`;
    const slavePage = await openPage();
    for (const path of ["/", "/topics", "/groups", "/messages", "/live"]) {
      const response = await slavePage.goto(slaveBase + path, { waitUntil: "load" });
      const text = await slavePage.$eval("main", (main) => main.textContent).catch(() => "");
      check(response.status() === 200 && text.length > 0, `ACL console: ${path} loads (${response.status()})`);
    }
    await slavePage.goto(`${slaveBase}/topics`, { waitUntil: "load" });
    const aclTopics = await slavePage.content();
    check(aclTopics.includes("admin-off") && aclTopics.includes("ACL") && !aclTopics.includes("create-topic"),
      "ACL console: no admin forms, and the page says ACL is why");
    await shot(slavePage, "11-acl-console-topics");
    await slavePage.close();
    const aclStatuses = await postActions(slaveBase);
    check(aclStatuses.every((status) => status === 403), `ACL console: every action refused (${aclStatuses})`);
  } finally {
    await browser.close();
    await Promise.all(children.filter((child) => child.exitCode === null).map((child) =>
      new Promise((resolve) => { child.on("exit", resolve); child.kill("SIGTERM"); })));
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
  check(consoleErrors.length === 0, `no console errors (${consoleErrors.join("; ")})`);
}

main().then(() => {
  log(failures.length === 0 ? "console test passed" : `console test FAILED: ${failures.length} check(s)`);
  process.exit(failures.length === 0 ? 0 : 1);
}, (error) => {
  for (const child of children) child.kill("SIGKILL");
  console.error(error);
  process.exit(1);
});
