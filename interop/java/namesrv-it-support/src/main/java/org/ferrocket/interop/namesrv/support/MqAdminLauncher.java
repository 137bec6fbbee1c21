package org.ferrocket.interop.namesrv.support;

/**
 * Runs the official {@code MQAdminStartup.main} and exits as soon as it returns. Without this the
 * JVM lingers about two seconds after mqadmin has printed everything, waiting out the quiet
 * period of Netty's event loops; a dozen commands would spend half a minute doing nothing.
 * Found by name so that this module stays free of RocketMQ (it works for 4.9.8 and 5.3.3 alike).
 */
public final class MqAdminLauncher {

    private MqAdminLauncher() {
    }

    public static void main(String[] args) throws Throwable {
        Class<?> startup = Class.forName("org.apache.rocketmq.tools.command.MQAdminStartup");
        try {
            startup.getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        }
        System.out.flush();
        System.err.flush();
        System.exit(0);
    }
}
