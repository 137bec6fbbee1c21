package org.ferrocket.interop.golden.core;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Command line shared by the version modules.
 *
 * <pre>
 *   generate &lt;outdir&gt;                          write every golden (and README.md) below outdir
 *   verify &lt;goldenDir&gt; &lt;otherDir&gt; [options]     compare each file of otherDir with the golden at the same path
 *        --display-prefix P   prefix printed before each relative path (e.g. "v49/")
 *        --skip-prefix P      ignore files of otherDir whose relative path starts with P (repeatable)
 *   list                                       print "path kind" for each golden
 * </pre>
 *
 * verify prints "ok &lt;path&gt;" or "FAIL &lt;path&gt;: reason" per file and finally a machine-readable line
 * "#summary &lt;passed&gt; &lt;failed&gt;" (golden.sh aggregates these). Exit status: 0 if no failures
 * (an empty comparison also exits 0 here; golden.sh decides about "nothing compared"), 1 on failures,
 * 2 on usage errors.
 */
public final class GoldenCli {
    private final String title;
    private final Supplier<List<Golden>> generator;
    private final Codec codec;
    private final String readmeIntro;

    public GoldenCli(String title, String readmeIntro, Supplier<List<Golden>> generator, Codec codec) {
        this.title = title;
        this.readmeIntro = readmeIntro;
        this.generator = generator;
        this.codec = codec;
    }

    public int run(String[] args, PrintStream out) throws Exception {
        if (args.length == 0) {
            return usage(out);
        }
        switch (args[0]) {
            case "generate":
                if (args.length != 2) {
                    return usage(out);
                }
                generate(Paths.get(args[1]));
                return 0;
            case "list":
                for (Golden g : registry().values()) {
                    out.println(g.path + "\t" + g.kind + (g.bodyKind != null ? "/" + g.bodyKind : ""));
                }
                return 0;
            case "verify": {
                if (args.length < 3) {
                    return usage(out);
                }
                String displayPrefix = "";
                List<String> skip = new ArrayList<>();
                for (int i = 3; i < args.length; i++) {
                    if (args[i].equals("--display-prefix") && i + 1 < args.length) {
                        displayPrefix = args[++i];
                    } else if (args[i].equals("--skip-prefix") && i + 1 < args.length) {
                        skip.add(args[++i]);
                    } else {
                        return usage(out);
                    }
                }
                return verify(Paths.get(args[1]), Paths.get(args[2]), displayPrefix, skip, out);
            }
            default:
                return usage(out);
        }
    }

    private int usage(PrintStream out) {
        out.println("usage: generate <outdir> | verify <goldenDir> <otherDir> [--display-prefix P] [--skip-prefix P]... | list");
        return 2;
    }

    private Map<String, Golden> registry() {
        Map<String, Golden> reg = new LinkedHashMap<>();
        for (Golden g : generator.get()) {
            if (reg.put(g.path, g) != null) {
                throw new IllegalStateException("duplicate golden path " + g.path);
            }
        }
        return reg;
    }

    private void generate(Path outDir) throws IOException {
        Map<String, Golden> reg = registry();
        for (Golden g : reg.values()) {
            // Self-check: every golden must be decodable by the official classes.
            try {
                Canon.check(codec.canonical(g, g.bytes), null);
            } catch (Exception e) {
                throw new IllegalStateException("generated golden " + g.path + " does not decode: " + e, e);
            }
            Path p = outDir.resolve(g.path);
            Files.createDirectories(p.getParent());
            Files.write(p, g.bytes);
        }
        StringBuilder sb = new StringBuilder();
        sb.append(readmeIntro);
        if (!readmeIntro.endsWith("\n")) {
            sb.append('\n');
        }
        sb.append('\n').append("## Files (").append(title).append(")\n\n");
        String section = null;
        for (Golden g : reg.values()) {
            int slash = g.path.indexOf('/');
            String dir = slash < 0 ? "." : g.path.substring(0, slash);
            if (!dir.equals(section)) {
                section = dir;
                sb.append("\n### ").append(dir.equals(".") ? "(top level)" : dir + "/").append("\n\n");
            }
            sb.append("- `").append(g.path).append("` (").append(g.bytes.length).append(" bytes): ")
                .append(g.description.replace('\n', ' ')).append('\n');
        }
        Files.write(outDir.resolve("README.md"), sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    private int verify(Path goldenDir, Path otherDir, String displayPrefix, List<String> skip, PrintStream out)
        throws IOException {
        Map<String, Golden> reg = registry();
        List<String> rel = new ArrayList<>();
        if (Files.isDirectory(otherDir)) {
            try (Stream<Path> s = Files.walk(otherDir)) {
                s.filter(Files::isRegularFile).forEach(p -> rel.add(otherDir.relativize(p).toString().replace('\\', '/')));
            }
        }
        rel.sort(null);
        int passed = 0;
        int failed = 0;
        for (String r : rel) {
            if (r.equals("README.md") || r.endsWith("/README.md") || skip.stream().anyMatch(r::startsWith)) {
                continue;
            }
            String shown = displayPrefix + r;
            String reason;
            try {
                reason = compare(reg.get(r), goldenDir.resolve(r), otherDir.resolve(r));
            } catch (Exception e) {
                reason = "exception while decoding: " + e;
            }
            if (reason == null) {
                passed++;
                out.println("ok " + shown);
            } else {
                failed++;
                out.println("FAIL " + shown + ": " + reason);
            }
        }
        out.println("#summary " + passed + " " + failed);
        return failed == 0 ? 0 : 1;
    }

    private String compare(Golden g, Path goldenFile, Path otherFile) throws Exception {
        if (g == null) {
            return "no golden with this path is known to the generator";
        }
        if (!Files.isRegularFile(goldenFile)) {
            return "golden file missing: " + goldenFile;
        }
        byte[] golden = Files.readAllBytes(goldenFile);
        byte[] other = Files.readAllBytes(otherFile);
        Object cg;
        try {
            cg = codec.canonical(g, golden);
        } catch (Exception e) {
            return "cannot decode the golden file itself: " + e;
        }
        Object co;
        try {
            co = codec.canonical(g, other);
        } catch (Exception e) {
            return "Java cannot decode it (" + g.kind + "): " + e;
        }
        Canon.check(cg, null);
        Canon.check(co, null);
        String d = Canon.diff(cg, co);
        return d == null ? null : d;
    }
}
