import Foundation

/// One of this package's executables (`meltwatch`, `meltwatch-sim`) run as a real child process.
public final class ProductProcess: @unchecked Sendable {
    // @unchecked: all stored properties are immutable; SpawnedProcess guards its own state.
    public let process: SpawnedProcess
    public let logFile: URL

    /// Starts `product` with `arguments`; stdout and stderr go to `logFile`. With `wrapper`
    /// (e.g. `["/usr/bin/prlimit", "--fsize=65536"]`) the product runs under that command.
    public init(_ product: String, arguments: [String], logFile: URL, wrapper: [String] = []) throws {
        self.logFile = logFile
        let path = try Self.productURL(product).path
        if let command = wrapper.first {
            process = try SpawnedProcess(executable: command, arguments: Array(wrapper.dropFirst()) + [path] + arguments, output: logFile.path)
        } else {
            process = try SpawnedProcess(executable: path, arguments: arguments, output: logFile.path)
        }
    }

    /// Where the build put `product`: beside the test bundle, or `$MELTWATCH_PRODUCTS`.
    public static func productURL(_ product: String) throws -> URL {
        var candidates: [URL] = []
        if let dir = ProcessInfo.processInfo.environment["MELTWATCH_PRODUCTS"] {
            candidates.append(URL(fileURLWithPath: dir).appendingPathComponent(product))
        }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent(product))
            dir = dir.deletingLastPathComponent()
        }
        for c in candidates where FileManager.default.isExecutableFile(atPath: c.path) { return c }
        throw TestKitError("cannot find the \(product) executable near \(CommandLine.arguments[0]); build it first (swift build)")
    }

    /// Everything the process wrote so far.
    /// Everything the process wrote to stdout and stderr, byte for byte (a UTF-8 BOM included).
    public var output: String { String(decoding: (try? Data(contentsOf: logFile)) ?? Data(), as: UTF8.self) }

    /// True while running.
    public var isRunning: Bool { process.isRunning }

    /// Sends `signal` and waits up to `timeoutSeconds` for exit; returns the exit status (nil if still running).
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeoutSeconds: Double = 15) -> Int32? {
        process.send(signal)
        return waitForExit(timeoutSeconds: timeoutSeconds)
    }

    /// Waits for the process to exit; returns its status, or nil on timeout.
    public func waitForExit(timeoutSeconds: Double) -> Int32? {
        process.waitForExit(timeoutSeconds: timeoutSeconds)
    }

    /// Waits for the process to exit without blocking a thread of the cooperative pool; returns its
    /// status, or nil on timeout.
    public func exited(timeoutSeconds: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if let s = process.exitStatus { return s }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.exitStatus
    }
}

/// Polls an HTTP URL on loopback until it answers 200, or the timeout passes.
public func waitForHTTP200(_ url: String, timeoutSeconds: Double) async -> Bool {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while Date() < deadline {
        if let status = try? await httpGetStatus(url), status == 200 { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return false
}

/// The status of a plain HTTP/1.1 GET on loopback (no client library: a few lines over a socket).
public func httpGetStatus(_ url: String) async throws -> Int {
    guard let u = URL(string: url), let host = u.host, let port = u.port else { throw TestKitError("bad URL \(url)") }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr(host)
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    guard ok else { throw TestKitError("connect failed") }
    let request = "GET \(u.path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = recv(fd, &buffer, buffer.count, 0)
    guard n > 12 else { throw TestKitError("no response") }
    let head = String(decoding: buffer[0..<n], as: UTF8.self)
    let parts = head.split(separator: " ")
    guard parts.count > 1, let status = Int(parts[1]) else { throw TestKitError("bad response") }
    return status
}
