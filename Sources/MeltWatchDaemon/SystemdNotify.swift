import Glibc

/// The systemd notification protocol (`sd_notify(3)`): datagrams to the socket named by
/// `$NOTIFY_SOCKET`, with no libsystemd dependency. Without that variable (not started by systemd
/// with `Type=notify`) every call does nothing.
///
/// `READY=1` is sent once the journal is recovered and every subscription is granted;
/// `WATCHDOG=1` by the ingest loop itself, every half `WatchdogSec` (`$WATCHDOG_USEC`), so a loop
/// that stops turning — stuck in a syscall, or blocked on a full ring behind a stuck engine — stops
/// the pings and systemd restarts the daemon.
final class SystemdNotify: @unchecked Sendable {
    // @unchecked: the address is immutable after init; each call opens its own socket.
    private let address: sockaddr_un?
    private let addressLength: socklen_t
    /// Half the watchdog period, or nil when systemd set no watchdog.
    let watchdogIntervalMilliseconds: Int64?

    init(environment: [String: String]) {
        var addr = sockaddr_un()
        var length: socklen_t = 0
        if var path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < MemoryLayout.size(ofValue: addr.sun_path) {
            addr.sun_family = sa_family_t(AF_UNIX)
            let abstract = path.hasPrefix("@")  // Linux abstract namespace: a leading NUL byte
            if abstract { path.removeFirst() }
            let bytes = Array(path.utf8)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                let offset = abstract ? 1 : 0
                for (i, b) in bytes.enumerated() { raw[i + offset] = b }
                if abstract { raw[0] = 0 }
            }
            length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 1 : 0))
            address = addr
        } else {
            address = nil
        }
        addressLength = length
        watchdogIntervalMilliseconds = environment["WATCHDOG_USEC"].flatMap(Int64.init).map { max(1, $0 / 2000) }
    }

    /// True when systemd listens.
    var isActive: Bool { address != nil }

    /// Sends one notification (e.g. `READY=1\nSTATUS=…`); errors are ignored, as `sd_notify` callers do.
    ///
    /// Never waits: the ingest loop sends the watchdog pings, and a unix datagram socket whose reader
    /// does not keep up (a busy or stuck systemd; a queue of only 10 datagrams by default) would block
    /// a plain `sendto` — and with it ingest, ticks and every alarm. A ping dropped is harmless (the
    /// next comes within half the interval); a loop blocked on it is not.
    func send(_ message: String) {
        guard var addr = address else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), sa, addressLength) }
            }
        }
    }
}
