package org.ferrocket.interop.chaos;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Bad input during a fault (issue 18): a thread that, while a fault test runs, keeps sending the
 * remoting port of a server the frames of the transport's malformed-frame checks (lengths out of
 * range, a header length past the frame, a header that is not JSON, half a frame then a hang-up)
 * and floods it with connections opened and reset. The server must stay up and keep serving
 * the well-behaved client beside it; connection failures (the server is being killed) are counted,
 * not fatal.
 */
final class HostilePeer implements AutoCloseable {

    /** Connections of one flood burst. */
    private static final int FLOOD_CONNECTIONS = 32;
    private static final int CONNECT_TIMEOUT_MS = 500;
    private static final long PAUSE_MS = 50;

    private final Supplier<String> target;
    private final Thread thread;
    private final AtomicLong framesSent = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private volatile boolean running = true;

    /** {@code target} gives the {@code host:port} to attack now (a restarted broker may move). */
    HostilePeer(Supplier<String> target) {
        this.target = target;
        this.thread = new Thread(this::loop, "hostile-peer");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void loop() {
        while (running) {
            for (byte[] frame : malformedFrames()) {
                send(frame);
            }
            flood();
            try {
                Thread.sleep(PAUSE_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    static List<byte[]> malformedFrames() {
        List<byte[]> frames = new ArrayList<>();
        frames.add(new byte[] {0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
        frames.add(new byte[] {0x01, 0x00, 0x00, 0x00});
        frames.add(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
        frames.add(new byte[] {0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00});
        // Header length (JSON) past the end of the frame.
        frames.add(ByteBuffer.allocate(12).putInt(8).putInt(0x00_00_10_00).putInt(0).array());
        // A JSON header that is not JSON.
        byte[] notJson = "{\"code\":10,\"flag\":0,\"opaque\":".getBytes(StandardCharsets.UTF_8);
        frames.add(ByteBuffer.allocate(8 + notJson.length).putInt(4 + notJson.length).putInt(notJson.length)
            .put(notJson).array());
        // Half a frame, then the hang-up.
        frames.add(ByteBuffer.allocate(10).putInt(400).putInt(300).putShort((short) 0x7B22).array());
        return frames;
    }

    private void send(byte[] frame) {
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            out.write(frame);
            out.flush();
            framesSent.incrementAndGet();
        } catch (IOException e) {
            refused.incrementAndGet();
        }
    }

    private void flood() {
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < FLOOD_CONNECTIONS; i++) {
                sockets.add(connect());
            }
        } catch (IOException e) {
            refused.incrementAndGet();
        } finally {
            for (Socket socket : sockets) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // Dropping the connection is the point.
                }
            }
        }
    }

    private Socket connect() throws IOException {
        String address = target.get();
        int colon = address.lastIndexOf(':');
        Socket socket = new Socket();
        // Closed with a reset: no TIME_WAIT keeps thousands of local ports, one of which a
        // restarted broker may have just been given as its new listening port.
        socket.setSoLinger(true, 0);
        try {
            socket.connect(new InetSocketAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))),
                CONNECT_TIMEOUT_MS);
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    /** For the results line: malformed frames delivered and connections refused (server down). */
    String summary() {
        return "hostile peer: " + framesSent.get() + " malformed frames sent, " + refused.get() + " connects refused";
    }

    long framesSent() {
        return framesSent.get();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.interrupt();
        thread.join(10_000);
    }
}
