import Hummingbird
import Logging
import NIOCore

/// What `/readyz` reports: each check by name, and whether it passes.
public struct Readiness: Sendable {
    public var checks: [(name: String, ok: Bool, detail: String)]

    /// Creates a report.
    public init(checks: [(name: String, ok: Bool, detail: String)]) { self.checks = checks }

    /// True when every check passes.
    public var isReady: Bool { checks.allSatisfy(\.ok) }
}

/// The duty-room HTTP listener on `duty.listen`. This build serves `GET /healthz` (the process is
/// alive and serving) and `GET /readyz` (200 only when every readiness check passes, else 503 with
/// the failing checks), so scripts and systemd can wait for a working monitor.
public enum DutyServer {
    /// Builds the Hummingbird application; run it as a `Service` in the daemon's service group.
    public static func application(
        host: String, port: Int, readiness: @escaping @Sendable () -> Readiness, logger: Logger,
        onListening: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("healthz") { _, _ in
            "ok\n"
        }
        router.get("readyz") { _, _ -> Response in
            let r = readiness()
            var text = r.isReady ? "ready\n" : "not ready\n"
            for c in r.checks { text += "\(c.ok ? "ok  " : "FAIL") \(c.name): \(c.detail)\n" }
            return Response(
                status: r.isReady ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text))
            )
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "meltwatch"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }
}
