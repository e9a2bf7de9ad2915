import Foundation
import Glibc
import MeltWatchTestKit
import Testing

/// A datagram socket standing in for systemd's notification socket.
final class NotifySocket {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw TestKitError("cannot bind \(path): errno \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Datagrams received within `seconds`.
    func receive(for seconds: Double) -> [String] {
        var got: [String] = []
        let end = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < end {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { got.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
        }
        return got
    }
}

@Suite("systemd Type=notify")
struct SystemdNotifyTests {
    @Test("READY=1 once the journal is recovered and the broker answered the subscription; WATCHDOG=1 from the ingest loop")
    func readyAndWatchdog() async throws {
        let h = try await Harness(plants: Harness.coPlant)
        defer { h.stop() }
        let socket = try NotifySocket(path: h.directory.path + "/notify.sock")
        // WatchdogSec=0.4 s: the loop must ping every 200 ms.
        try await h.startDaemon(wrapper: ["/usr/bin/env", "NOTIFY_SOCKET=\(socket.path)", "WATCHDOG_USEC=400000"])
        let messages = socket.receive(for: 2)
        let ready = messages.filter { $0.contains("READY=1") }
        #expect(ready.count == 1, "\(messages)")
        #expect(ready.first?.contains("STATUS=monitoring 3 topics") == true, "\(messages)")
        let pings = messages.filter { $0 == "WATCHDOG=1" }.count
        #expect((6...14).contains(pings), "expected a ping about every 200 ms for 2 s, got \(pings): \(messages)")
        #expect(h.daemon.stop() == 0)
    }

    @Test("a notification socket nobody reads never stalls the loop: alarms keep coming while pings pile up unread")
    func unreadSocketDoesNotBlock() async throws {
        let h = try await Harness(plants: Harness.coPlant)
        defer { h.stop() }
        let socket = try NotifySocket(path: h.directory.path + "/notify.sock")
        // Pings every 50 ms; the socket's queue (10 datagrams) is full after half a second.
        try await h.startDaemon(wrapper: ["/usr/bin/env", "NOTIFY_SOCKET=\(socket.path)", "WATCHDOG_USEC=100000"])
        let gateway = try h.publisher()
        for i in 0..<4 {
            try await Task.sleep(for: .seconds(1))
            let ppm = i % 2 == 0 ? 40 : 2
            try gateway.publish(topic: "plants/baotou-steel/co-1/co", text: "{\"ts\":\(nowMilliseconds()),\"v\":\(ppm)}")
        }
        let got = await h.receiver.waitFor(timeoutSeconds: 10) { d in d.filter { $0.text.contains("\"rule\":\"co-level-1\"") }.count >= 4 }
        #expect(got.filter { $0.text.contains("\"rule\":\"co-level-1\"") }.count >= 4, "raised, cleared, raised, cleared while nobody read the socket")
        _ = socket
        #expect(h.daemon.stop() == 0)
    }
}
