package org.ferrocket.interop.namesrv.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Where the tests find their tools and put their files. Everything missing is a test failure with
 * a sentence saying how to fix it, never a skipped test.
 *
 * <p>System properties (set by the module's Surefire configuration):
 * {@code ferrocket.interop.repoRoot} (the Rust workspace, to find {@code target/debug/ferrocket}),
 * {@code ferrocket.interop.workRoot} (a scratch directory under the module's {@code target}),
 * {@code ferrocket.interop.rocketmq5Classpath} (a file holding the 5.3.3 broker/mqadmin classpath).
 * Environment: {@code FERROCKET_BIN} overrides the binary.
 */
public final class InteropEnv {

    private InteropEnv() {
    }

    /** Our binary: {@code $FERROCKET_BIN}, else {@code <repoRoot>/target/debug/ferrocket}. */
    public static Path ferrocketBinary() {
        String fromEnv = System.getenv("FERROCKET_BIN");
        Path bin = fromEnv != null && !fromEnv.isBlank()
            ? Path.of(fromEnv)
            : Path.of(requiredProperty("ferrocket.interop.repoRoot"), "target", "debug", "ferrocket");
        if (!Files.isRegularFile(bin) || !Files.isExecutable(bin)) {
            throw new IllegalStateException("ferrocket binary not found or not executable: " + bin.toAbsolutePath().normalize()
                + " (build it with `cargo build -p ferrocket` or set FERROCKET_BIN)");
        }
        return bin.toAbsolutePath().normalize();
    }

    /** The {@code java} that runs these tests; child JVMs use the same one. */
    public static Path javaBinary() {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        if (!Files.isExecutable(java)) {
            throw new IllegalStateException("no java executable at " + java);
        }
        return java;
    }

    /** Reads a classpath file written by {@code dependency:build-classpath}. */
    public static String classpathFromFile(String property) {
        Path file = Path.of(requiredProperty(property));
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException("classpath file missing: " + file
                + " (run interop/java/namesrv-interop.sh, which builds the namesrv-it module first)");
        }
        try {
            String classpath = Files.readString(file, StandardCharsets.UTF_8).trim();
            if (classpath.isEmpty()) {
                throw new IllegalStateException("classpath file is empty: " + file);
            }
            return classpath;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A fresh, empty scratch directory for one test class, replacing any left from an earlier run. */
    public static Path freshWorkDir(Class<?> testClass) throws IOException {
        Path root = Path.of(System.getProperty("ferrocket.interop.workRoot", System.getProperty("java.io.tmpdir")));
        Path dir = root.resolve(testClass.getSimpleName()).toAbsolutePath();
        deleteRecursively(dir);
        Files.createDirectories(dir);
        return dir;
    }

    public static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static String requiredProperty(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + name + " is not set (run through Maven: "
                + "interop/java/namesrv-interop.sh)");
        }
        return value;
    }
}
