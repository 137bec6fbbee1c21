package org.ferrocket.interop.store;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.ferrocket.interop.namesrv.support.ChildProcess;

/**
 * Runs one ignored test of {@code crates/store/tests/java_store.rs} as a child process: the test
 * binary named by {@code $FERROCKET_JAVA_STORE_TEST_BIN} (store-interop.sh builds it), or else
 * {@code cargo test -p ferrocket-store --test java_store}. A non-zero exit, or a run in which that
 * test did not pass (a filter that matched nothing), fails the calling test with its output.
 */
final class RustStoreCheck {

    /** A cold `cargo test` build of the store crate on a loaded 2-core machine, with margin. */
    private static final Duration TIMEOUT = Duration.ofSeconds(600);

    /** Numbers the runs, so that each keeps its own log. */
    private static final AtomicInteger RUNS = new AtomicInteger();

    private RustStoreCheck() {
    }

    static String run(Path workDir, String testName, Map<String, String> env) throws IOException, InterruptedException {
        String bin = System.getenv("FERROCKET_JAVA_STORE_TEST_BIN");
        List<String> command = new ArrayList<>();
        Path dir;
        if (bin != null && !bin.isBlank()) {
            command.add(bin);
            dir = workDir;
        } else {
            command.addAll(List.of("cargo", "test", "-q", "-p", "ferrocket-store", "--test", "java_store", "--"));
            dir = Path.of(System.getProperty("ferrocket.interop.repoRoot")).toAbsolutePath().normalize();
        }
        command.addAll(List.of("--ignored", "--exact", testName, "--nocapture", "--test-threads=1"));
        Map<String, String> fullEnv = new HashMap<>(env);
        fullEnv.put("RUST_BACKTRACE", "1");
        String label = "rust-" + RUNS.incrementAndGet() + "-" + testName;
        try (ChildProcess child = ChildProcess.start(label, command, dir, workDir.resolve("logs/" + label + ".log"),
            fullEnv)) {
            int status = child.awaitExit(TIMEOUT);
            String output = child.stdout() + "\n" + child.stderr();
            if (status != 0 || !child.stdout().contains("test result: ok. 1 passed")) {
                throw new AssertionError("Rust test " + testName + " failed (exit " + status + ")\n" + child.tail(120));
            }
            return output;
        }
    }
}
