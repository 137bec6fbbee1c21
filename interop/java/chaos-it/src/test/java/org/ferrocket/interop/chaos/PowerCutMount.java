package org.ferrocket.interop.chaos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.ferrocket.interop.namesrv.support.ChildProcess;
import org.ferrocket.interop.namesrv.support.InteropEnv;

/**
 * A broker's store on our lost-writes FUSE file system ({@code crates/lossyfs}, its
 * {@code lossyfs-mount} process): every write not covered by an fsync is thrown away at a
 * {@link #cut power cut}, the newest torn at a random byte. The store directory is the mount
 * point; what was durable stays in {@code backing}. Root only.
 */
final class PowerCutMount implements AutoCloseable {

    private static final Duration MOUNT_WAIT = Duration.ofSeconds(30);
    private static final Pattern MOUNTED = Pattern.compile("^mounted ");
    private static final Pattern UNMOUNTED = Pattern.compile("^unmounted$");

    private final Path dir;
    private final Path mountpoint;
    private ChildProcess process;
    private int mounts;
    private long lostChanges;

    private PowerCutMount(Path dir, Path mountpoint) {
        this.dir = dir;
        this.mountpoint = mountpoint;
    }

    /** Mounts a lossy file system at {@code mountpoint}, its backing files under {@code dir}. */
    static PowerCutMount mount(Path dir, Path mountpoint) throws IOException, InterruptedException {
        PowerCutMount mount = new PowerCutMount(dir, mountpoint);
        mount.start();
        return mount;
    }

    /** {@code lossyfs-mount}, built beside the ferrocket binary (chaos-interop.sh builds it). */
    static Path binary() {
        String fromEnv = System.getenv("LOSSYFS_MOUNT_BIN");
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv);
        }
        return Path.of(System.getProperty("ferrocket.interop.repoRoot"), "target", "debug", "lossyfs-mount");
    }

    private void start() throws IOException, InterruptedException {
        mounts++;
        Path control = dir.resolve("control");
        InteropEnv.deleteRecursively(control);
        InteropEnv.deleteRecursively(dir.resolve("stash"));
        for (Path made : new Path[] {dir.resolve("backing"), dir.resolve("stash"), control, mountpoint}) {
            Files.createDirectories(made);
        }
        List<String> command = List.of(binary().toString(), dir.resolve("backing").toString(), mountpoint.toString(),
            dir.resolve("stash").toString(), control.toString());
        process = ChildProcess.start("lossyfs-" + mounts, command, dir, dir.resolve("lossyfs-" + mounts + ".log"), Map.of());
        try {
            process.awaitStdout(MOUNTED, MOUNT_WAIT);
        } catch (InterruptedException | RuntimeException | Error e) {
            process.close();
            throw e;
        }
    }

    /** The power cut: every later operation on the mount fails; what was not durable is gone. */
    void cut() throws IOException, InterruptedException {
        Path control = dir.resolve("control");
        Files.createFile(control.resolve("cut"));
        long deadline = System.nanoTime() + MOUNT_WAIT.toNanos();
        while (!Files.exists(control.resolve("cut.done"))) {
            if (System.nanoTime() > deadline || !process.isAlive()) {
                throw new AssertionError("lossyfs-mount did not cut:\n" + process.tail(20));
            }
            Thread.sleep(1);
        }
        lostChanges += Long.parseLong(Files.readString(control.resolve("cut.done")).trim());
    }

    /** Unmounts (the writers must be dead) and mounts what was durable again. */
    void remount() throws IOException, InterruptedException {
        unmount();
        start();
    }

    /** Changes (writes, creates, renames, unlinks) the cuts threw away. */
    long lostChanges() {
        return lostChanges;
    }

    private void unmount() throws IOException, InterruptedException {
        if (process == null) {
            return;
        }
        Files.createFile(dir.resolve("control").resolve("unmount"));
        try {
            process.awaitStdout(UNMOUNTED, MOUNT_WAIT);
            process.awaitExit(MOUNT_WAIT);
        } finally {
            process.close();
            process = null;
        }
    }

    @Override
    public void close() {
        try {
            unmount();
        } catch (IOException | InterruptedException | RuntimeException e) {
            System.err.println("PowerCutMount: unmounting " + mountpoint + ": " + e);
        }
    }
}
