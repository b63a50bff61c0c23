import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

import java.util.concurrent.CountDownLatch;

/**
 * Runs mongo-java-server (in-memory backend) as a standalone MongoDB wire-protocol server for
 * the no-Docker dev/test stack. Started and stopped by scripts/infra.sh; see docs/infrastructure.md.
 *
 * Usage: java -cp 'classes:libs/*' MongoServerMain <bind-host> <port>
 *
 * Data lives only in this JVM's heap: every start is an empty server.
 * Runs until SIGTERM/SIGINT, then closes client connections and exits 0.
 */
public final class MongoServerMain {

    private MongoServerMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 2) {
            System.err.println("usage: MongoServerMain <bind-host> <port>");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        // The project only ever runs servers on the loopback interface.
        if (!host.equals("127.0.0.1") && !host.equals("localhost") && !host.equals("::1")) {
            System.err.println("refusing to bind non-loopback address " + host);
            System.exit(2);
        }

        MongoServer server = new MongoServer(new MemoryBackend());
        // The oplog makes $changeStream aggregations work (the app watches collections).
        server.enableOplog();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("MongoServerMain: shutting down");
            server.shutdownNow();
            stopped.countDown();
        }, "mongo-shutdown"));

        try {
            server.bind(host, port);
        } catch (Exception e) { // also the checked BindException Netty rethrows
            // Netty's non-daemon threads would keep a failed JVM alive: exit explicitly.
            System.err.println("MongoServerMain: cannot listen on " + host + ":" + port + ": " + e);
            System.exit(1);
        }
        System.out.println("MongoServerMain: mongo-java-server listening on " + host + ":" + port
                + " (memory backend, oplog enabled)");

        // Netty's event-loop threads keep the JVM alive as well; the latch makes the intent explicit.
        stopped.await();
    }
}
