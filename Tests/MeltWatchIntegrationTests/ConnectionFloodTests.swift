import Foundation
import Glibc
import MeltWatchTestKit
import Testing

/// Idle TCP connections to the duty listener, from anyone who can reach it, no authentication
/// needed: with a service's default descriptor limit (1 024) the first version trapped at about
/// 1 260 of them. Contract §5: at most `duty.max_connections`; idle ones close; the daemon's own
/// descriptors are never the ones to run out.
@Suite("A connection flood on the duty listener: the daemon stays up and the alarm gets out", .serialized)
struct ConnectionFloodTests {
    @Test("2 000 idle connections under a 1 024-descriptor limit while CO is alarmed: the alarm reaches the webhook, idle ones are closed, the API answers once they go")
    func floodWhileAlarmed() async throws {
        let h = try await Harness(plants: Harness.coPlant, duty: "  heartbeat_s: 3600\n  max_connections: 64\n")
        defer { h.stop() }
        // Soft and hard limit 1 024, as a service without LimitNOFILE= gets at worst; idle
        // connections close after 1 s so the test sees the listener free its slots.
        try await h.startDaemon(wrapper: ["/usr/bin/prlimit", "--nofile=1024:1024", "--",
                                          "/usr/bin/env", "MELTWATCH_TEST_IDLE_TIMEOUT_MS=1000"])
        raiseOwnDescriptorLimit(to: 4096)
        // The gateway connects first: libmosquitto's own loop uses select(), which cannot take the
        // descriptor numbers above 1 024 the flood's sockets push new ones to.
        let p = try h.publisher()
        defer { p.close() }

        let flood = (0..<2000).compactMap { _ in openIdleConnection(port: h.dutyPort) }
        defer { for fd in flood { close(fd) } }
        #expect(flood.count == 2000, "the test opened its connections: \(flood.count)")

        // CO rises while the flood stands: the duty room hears of it at once.
        let published = Date()
        try p.publish(topic: "plants/baotou-steel/co-1/co", text: "{\"ts\":\(nowMilliseconds()),\"v\":80}")
        #expect(p.waitUntilAcknowledged())
        let got = await h.receiver.waitFor(timeoutSeconds: 10) { $0.contains { $0.json["rule"] as? String == "co-level-1" } }
        #expect(got.contains { $0.json["rule"] as? String == "co-level-1" && $0.json["event"] as? String == "raised" },
                "the alarm reached the webhook during the flood")
        let delivered = Date().timeIntervalSince(published)
        // The listener holds at most max_connections (64) of them: the daemon's descriptors stay
        // far below the limit (the first version took all 1 024).
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(h.daemon.process.pid)/fd").count) ?? -1
        print("ConnectionFloodTests: co-level-1 delivered \(Int(delivered * 1000)) ms after publishing, 2 000 connections open, daemon descriptors \(descriptors)")
        #expect(descriptors > 0 && descriptors <= 64 + 256, "the daemon's descriptors: \(descriptors)")

        // The listener closed the idle connections it had accepted (1 s idle timeout).
        try await Task.sleep(for: .seconds(3))
        let closedByServer = flood.filter(isClosedByPeer).count
        #expect(closedByServer >= 64, "idle connections were closed: \(closedByServer)")
        #expect(h.daemon.isRunning, "the daemon is up:\n\(h.daemon.output.suffix(2000))")
        #expect(!h.daemon.output.contains("Too many open files") && !h.daemon.output.contains("Fatal error"), "\(h.daemon.output.suffix(2000))")

        // The flood goes: the API answers again.
        for fd in flood { close(fd) }
        #expect(await waitForHTTP200(h.api + "/readyz", timeoutSeconds: 30))
        let alarms = try await call("GET", h.api + "/api/alarms")
        #expect(alarms.status == 200 && alarms.body.contains("co-level-1"))
        #expect(h.daemon.stop() == 0)
    }
}

private func raiseOwnDescriptorLimit(to wanted: rlim_t) {
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    var limit = rlimit()
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur < wanted else { return }
    var raised = rlimit(rlim_cur: min(wanted, limit.rlim_max), rlim_max: limit.rlim_max)
    _ = setrlimit(resource, &raised)
}

/// A non-blocking TCP connection to 127.0.0.1:`port` that sends nothing; nil when no descriptor.
private func openIdleConnection(port: Int) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    return fd  // EINPROGRESS or connected: either way it stays open and idle
}

/// The peer closed it: readable with end of file (or reset).
private func isClosedByPeer(_ fd: Int32) -> Bool {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&p, 1, 0) > 0 else { return false }
    if p.revents & Int16(POLLHUP | POLLERR) != 0 { return true }
    var byte: UInt8 = 0
    return recv(fd, &byte, 1, Int32(MSG_PEEK)) <= 0
}
