package org.ferrocket.interop.chaos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One line per fault run, printed and appended to {@code ferrocket.interop.chaosResults}
 * (target/chaos-results.txt): the figures RELIABILITY.md is written from.
 */
final class ChaosResults {

    private ChaosResults() {
    }

    static void record(String impl, String fault, String mode, int cycles, ReadBack verdict, long worstRecoveryMs,
                       String extra) throws IOException {
        String line = String.join(" | ", impl, fault, mode, Integer.toString(cycles),
            Integer.toString(verdict.acknowledged()), Integer.toString(verdict.lost().size()),
            Integer.toString(verdict.duplicated().size()), worstRecoveryMs < 0 ? "-" : worstRecoveryMs + " ms", extra);
        System.out.println("CHAOS RESULT | " + line);
        String file = System.getProperty("ferrocket.interop.chaosResults");
        if (file != null && !file.isBlank()) {
            Path path = Path.of(file);
            Files.createDirectories(path.getParent());
            Files.writeString(path, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        }
    }
}
