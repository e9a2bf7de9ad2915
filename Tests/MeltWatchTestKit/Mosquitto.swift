import Foundation

/// A real mosquitto broker on 127.0.0.1 and a free port, started for one test and stopped after it.
public final class MosquittoBroker: @unchecked Sendable {
    // @unchecked: all stored properties are immutable; SpawnedProcess guards its own state.
    public let port: Int
    public let directory: URL
    private let process: SpawnedProcess

    /// Starts `mosquitto` with a generated config; waits until the port accepts connections. A free
    /// port it picked itself may be taken between the probe and mosquitto's bind (by any process's
    /// outgoing connection: the ephemeral range is shared), so then it tries another, up to 3 times.
    public init(port: Int? = nil, extraConfig: String = "") throws {
        var attempt = 0
        while true {
            attempt += 1
            let chosen = try port ?? freeLoopbackPort()
            let directory = try temporaryDirectory(prefix: "mosquitto")
            let conf = directory.appendingPathComponent("mosquitto.conf")
            try """
            listener \(chosen) 127.0.0.1
            allow_anonymous true
            persistence false
            set_tcp_nodelay true
            max_queued_messages 100000
            max_inflight_messages 1024
            log_dest stderr
            \(extraConfig)
            """.write(to: conf, atomically: true, encoding: .utf8)
            let process = try SpawnedProcess(
                executable: try findExecutable("mosquitto", extra: ["/usr/sbin/mosquitto"]).path,
                arguments: ["-c", conf.path], output: directory.path + "/mosquitto.log"
            )
            if waitForPort(chosen, timeoutSeconds: 10) {
                self.port = chosen
                self.directory = directory
                self.process = process
                return
            }
            process.send(SIGKILL)
            guard port == nil, attempt < 3 else {
                let log = (try? String(contentsOfFile: directory.path + "/mosquitto.log", encoding: .utf8)) ?? ""
                throw TestKitError("mosquitto did not start listening on 127.0.0.1:\(chosen): \(log)")
            }
        }
    }

    /// Starts `mosquitto` under `wrapper` (e.g. `ip netns exec B`: a broker inside a network
    /// namespace of the test), listening on `port` at each of `listenHosts`. The host's namespace
    /// cannot probe such a port, so readiness is the broker's own log line ("… running", written
    /// after every listener is bound); a listener that cannot bind makes it exit, which is reported.
    public init(port: Int, listenHosts: [String], wrapper: [String], extraConfig: String = "", timeoutSeconds: Double = 10) throws {
        self.port = port
        directory = try temporaryDirectory(prefix: "mosquitto")
        let conf = directory.appendingPathComponent("mosquitto.conf")
        try (listenHosts.map { "listener \(port) \($0)" } + [
            "allow_anonymous true",
            "persistence false",
            "set_tcp_nodelay true",
            "max_queued_messages 100000",
            "max_inflight_messages 1024",
            "log_dest stderr",
            "log_type all",
            "connection_messages true",
            extraConfig,
        ]).joined(separator: "\n").appending("\n").write(to: conf, atomically: true, encoding: .utf8)
        let logPath = directory.path + "/mosquitto.log"
        let command = wrapper + [try findExecutable("mosquitto", extra: ["/usr/sbin/mosquitto"]).path, "-c", conf.path]
        process = try SpawnedProcess(executable: command[0], arguments: Array(command.dropFirst()), output: logPath)
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while true {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if text.contains(" running") { break }
            if !process.isRunning || Date() > deadline {
                process.send(SIGKILL)
                throw TestKitError("mosquitto did not start listening on \(listenHosts.joined(separator: ", ")) port \(port): \(text)")
            }
            usleep(20_000)
        }
    }

    /// The broker URL at `host` (one of the listener hosts), for configs.
    public func url(host: String) -> String { "mqtt://\(host):\(port)" }

    /// The broker URL for configs.
    public var url: String { "mqtt://127.0.0.1:\(port)" }

    /// The broker's log, for diagnosing a failed test.
    public var log: String { (try? String(contentsOfFile: directory.path + "/mosquitto.log", encoding: .utf8)) ?? "" }

    /// Stops the broker and waits for it to exit.
    public func stop() {
        guard process.isRunning else { return }
        process.send(SIGTERM)
        if process.waitForExit(timeoutSeconds: 5) == nil {
            process.send(SIGKILL)
            _ = process.waitForExit(timeoutSeconds: 5)
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A test-kit failure with a message.
public struct TestKitError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestKitError("socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
            bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
        }
    }
    guard bound else { throw TestKitError("bind/getsockname failed") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Polls until something accepts TCP connections on 127.0.0.1:`port`.
public func waitForPort(_ port: Int, timeoutSeconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while Date() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        close(fd)
        if ok { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return false
}

/// A fresh temporary directory.
public func temporaryDirectory(prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Finds an executable on PATH or at one of `extra`.
public func findExecutable(_ name: String, extra: [String] = []) throws -> URL {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":").map(String.init) + extra.map { ($0 as NSString).deletingLastPathComponent } {
        let candidate = dir + "/" + name
        if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
    }
    throw TestKitError("\(name) not found on PATH; install it (apt-get install -y mosquitto)")
}
