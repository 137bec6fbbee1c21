package org.ferrocket.interop.namesrv.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Free loopback ports, chosen by the OS. */
public final class Ports {

    /** Attempts before giving up: each one fails only if a neighbouring port happens to be taken. */
    private static final int ATTEMPTS_MAX = 100;

    private Ports() {
    }

    /**
     * A port {@code p} for a Java broker's {@code listenPort}: the broker also binds {@code p - 2}
     * (its "fast"/VIP server, which 4.9.x clients use by default) and {@code p + 1} (HA), so all
     * three must be free.
     */
    public static int brokerListenPort() throws IOException {
        for (int attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
            int port = freePort();
            if (port - 2 > 1024 && port + 1 <= 65535 && isFree(port - 2) && isFree(port + 1)) {
                return port;
            }
        }
        throw new IOException("no free port p with p-2 and p+1 free after " + ATTEMPTS_MAX + " attempts");
    }

    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
