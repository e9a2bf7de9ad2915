import Foundation

// Network namespaces of a test's own, for faults the loopback interface cannot produce (a silent
// partition: no RST, no FIN). Everything non-loopback lives inside the test's namespaces: the veth
// pair is created inside them (`ip -n A link add … peer name … netns B`), so the host's namespace
// never sees it. Needs root and iproute2's `ip`.

/// Runs `executable` to completion (stdin /dev/null, stdout and stderr together); its exit status
/// (nil on timeout, after SIGKILL) and output.
public func runToCompletion(_ executable: String, _ arguments: [String], timeoutSeconds: Double = 10) throws -> (status: Int32?, output: String) {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-run-\(UUID().uuidString.prefix(8)).out")
    defer { try? FileManager.default.removeItem(at: out) }
    let process = try SpawnedProcess(executable: executable, arguments: arguments, output: out.path)
    var status = process.waitForExit(timeoutSeconds: timeoutSeconds)
    if status == nil {
        process.send(SIGKILL)
        _ = process.waitForExit(timeoutSeconds: 5)
        status = nil
    }
    let text = String(decoding: (try? Data(contentsOf: out)) ?? Data(), as: UTF8.self)
    return (status, text)
}

/// The `ip` executable of iproute2.
public func ipExecutable() throws -> String {
    for candidate in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] where FileManager.default.isExecutableFile(atPath: candidate) {
        return candidate
    }
    throw TestKitError("iproute2's ip not found (apt-get install -y iproute2)")
}

/// A network namespace of this test (`ip netns add`), with `lo` up. Delete it with ``delete()``
/// (which first kills every process still inside it).
public final class NetworkNamespace: @unchecked Sendable {
    // @unchecked: `deleted` is guarded by `lock`; the rest is immutable.
    public let name: String
    public let ipPath: String
    private let lock = NSLock()
    private var deleted = false

    /// Creates the namespace `name` and brings its loopback up. Throws, with `ip`'s own words,
    /// when not root or when namespaces are not available here.
    public init(name: String) throws {
        self.name = name
        ipPath = try ipExecutable()
        guard geteuid() == 0 else {
            throw TestKitError("network namespaces need root (euid \(geteuid())): cannot create \(name)")
        }
        let (status, output) = try runToCompletion(ipPath, ["netns", "add", name])
        guard status == 0 else {
            throw TestKitError("ip netns add \(name) failed (status \(status.map(String.init) ?? "timeout")): \(output)")
        }
        do {
            try self.ip(["link", "set", "lo", "up"])
        } catch {
            delete()
            throw error
        }
    }

    /// The prefix that runs a command inside this namespace: `ip netns exec NAME` (a wrapper for
    /// ``ProductProcess``; `ip netns exec` execs the command, so the child's pid is the command's).
    public var exec: [String] { [ipPath, "netns", "exec", name] }

    /// `ip -n NAME ARGS…`; throws with `ip`'s output when it fails.
    public func ip(_ arguments: [String]) throws {
        let (status, output) = try runToCompletion(ipPath, ["-n", name] + arguments)
        guard status == 0 else {
            throw TestKitError("ip -n \(name) \(arguments.joined(separator: " ")) failed (status \(status.map(String.init) ?? "timeout")): \(output)")
        }
    }

    /// `ip -n NAME ARGS…`'s output (empty on failure), for diagnostics.
    public func show(_ arguments: [String]) -> String {
        ((try? runToCompletion(ipPath, ["-n", name] + arguments))?.output) ?? ""
    }

    /// Runs `command` inside the namespace to completion.
    public func run(_ command: [String], timeoutSeconds: Double = 10) throws -> (status: Int32?, output: String) {
        try runToCompletion(ipPath, ["netns", "exec", name] + command, timeoutSeconds: timeoutSeconds)
    }

    /// A plain HTTP GET from inside the namespace (curl, or python3 when curl is absent): the status
    /// and body, or nil when nothing answered.
    public func httpGet(_ url: String, timeoutSeconds: Double = 2) -> (status: Int, body: String)? {
        let marker = "\n--meltwatch-status--"
        let command: [String]
        if let curl = try? findExecutable("curl") {
            command = [curl.path, "-s", "-m", String(timeoutSeconds), "-w", "\(marker)%{http_code}", url]
        } else if let python = try? findExecutable("python3") {
            command = [python.path, "-c", """
            import sys, urllib.request, urllib.error
            try:
                r = urllib.request.urlopen(sys.argv[1], timeout=\(timeoutSeconds)); s, b = r.status, r.read()
            except urllib.error.HTTPError as e:
                s, b = e.code, e.read()
            sys.stdout.write(b.decode("utf-8", "replace") + "\(marker.replacingOccurrences(of: "\n", with: "\\n"))" + str(s))
            """, url]
        } else {
            return nil
        }
        guard let (status, output) = try? run(command, timeoutSeconds: timeoutSeconds + 3), status == 0,
              let range = output.range(of: marker, options: .backwards),
              let code = Int(output[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)), code > 0
        else { return nil }
        return (code, String(output[..<range.lowerBound]))
    }

    /// The processes inside the namespace (`ip netns pids`).
    public func pids() -> [pid_t] {
        guard let (status, output) = try? runToCompletion(ipPath, ["netns", "pids", name]), status == 0 else { return [] }
        return output.split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) }
    }

    /// SIGKILLs every process inside the namespace and waits until none is left; the pids still
    /// there after `timeoutSeconds`.
    @discardableResult
    public func killAll(timeoutSeconds: Double = 5) -> [pid_t] {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var left = pids()
        while !left.isEmpty, Date() < deadline {
            for pid in left where pid > 1 && pid != getpid() { kill(pid, SIGKILL) }
            usleep(50_000)
            left = pids()
        }
        return left
    }

    /// Kills what runs inside, then `ip netns del`. Idempotent.
    public func delete() {
        lock.lock()
        let already = deleted
        deleted = true
        lock.unlock()
        guard !already else { return }
        killAll()
        _ = try? runToCompletion(ipPath, ["netns", "del", name])
    }

    deinit { delete() }
}

/// Two namespaces joined by a veth pair: A (`10.213.N.1/30`) and B (`10.213.N.2/30`), N random,
/// names unique to this run (`mwA-<hex>`, `mwB-<hex>`). ``cut()`` takes B's end down — a silent
/// partition: A's end loses carrier, packets vanish, nothing (no RST, no FIN, no ICMP from B)
/// reaches A's sockets; ``heal()`` brings it back. ``teardown()`` kills every process in both and
/// deletes both (the veth pair goes with them).
public final class NamespacePair: @unchecked Sendable {
    // @unchecked: everything is immutable; NetworkNamespace guards its own state.
    public let a: NetworkNamespace
    public let b: NetworkNamespace
    /// The veth ends: `aDevice` lives in A, `bDevice` in B.
    public let aDevice: String
    public let bDevice: String
    public let aAddress: String
    public let bAddress: String
    /// The run's random suffix (6 hex digits).
    public let suffix: String

    public init() throws {
        suffix = String(format: "%06x", UInt32.random(in: 0..<0x100_0000))
        let subnet = Int.random(in: 0...255)
        aAddress = "10.213.\(subnet).1"
        bAddress = "10.213.\(subnet).2"
        aDevice = "mwa\(suffix)"   // at most 15 characters (IFNAMSIZ)
        bDevice = "mwb\(suffix)"
        let nsA = try NetworkNamespace(name: "mwA-\(suffix)")
        do {
            b = try NetworkNamespace(name: "mwB-\(suffix)")
        } catch {
            nsA.delete()
            throw error
        }
        a = nsA
        do {
            // Created inside A with its peer placed straight into B: neither end ever exists in the
            // host's namespace.
            try a.ip(["link", "add", aDevice, "type", "veth", "peer", "name", bDevice, "netns", b.name])
            try a.ip(["addr", "add", "\(aAddress)/30", "dev", aDevice])
            try b.ip(["addr", "add", "\(bAddress)/30", "dev", bDevice])
            try a.ip(["link", "set", aDevice, "up"])
            try b.ip(["link", "set", bDevice, "up"])
        } catch {
            teardown()
            throw error
        }
    }

    /// The silent partition: B's end of the link down.
    public func cut() throws { try b.ip(["link", "set", bDevice, "down"]) }

    /// The link back up.
    public func heal() throws { try b.ip(["link", "set", bDevice, "up"]) }

    /// Both ends' link state and addresses, for diagnostics.
    public var linkState: String {
        "A \(a.name):\n\(a.show(["addr", "show", "dev", aDevice]))B \(b.name):\n\(b.show(["addr", "show", "dev", bDevice]))"
    }

    /// Kills every process in both namespaces and deletes them. Idempotent.
    public func teardown() {
        a.delete()
        b.delete()
    }

    deinit { teardown() }
}

/// A webhook receiver inside a namespace (the test process cannot reach that namespace's
/// 127.0.0.1): python3's http.server, answering 200 to every POST and appending one JSON line per
/// request to a file the test reads — `{"received_ms": <its wall clock>, "path": …, "event": <the body>}`.
public final class FileWebhookReceiver: @unchecked Sendable {
    // @unchecked: all stored properties are immutable; SpawnedProcess guards its own state.
    public let port: Int
    public let file: URL
    public let logFile: URL
    private let process: SpawnedProcess

    /// One request as recorded.
    public struct Line: @unchecked Sendable {
        // @unchecked: `event` holds JSONSerialization values, which are never mutated.
        public var receivedMilliseconds: Int64
        public var path: String
        public var event: [String: Any]
        public var text: String

        public var rule: String? { event["rule"] as? String }
        public var kind: String? { event["event"] as? String }
    }

    static let script = """
    import http.server, json, sys, threading, time
    port, path = int(sys.argv[1]), sys.argv[2]
    lock = threading.Lock()
    class Handler(http.server.BaseHTTPRequestHandler):
        def body(self):
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\\r\\n", b"\\n", b""):
                            pass
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        def do_POST(self):
            raw = self.body()
            received = int(time.time() * 1000)
            try:
                event = json.loads(raw)
            except Exception:
                event = raw.decode("utf-8", "replace")
            line = json.dumps({"received_ms": received, "path": self.path, "event": event}, ensure_ascii=False, separators=(",", ":"))
            with lock:
                with open(path, "a", encoding="utf-8") as f:
                    f.write(line + "\\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("listening on 127.0.0.1:%d" % port, flush=True)
    server.serve_forever()
    """

    /// Starts the receiver on 127.0.0.1:`port` under `wrapper` (e.g. ``NetworkNamespace/exec``);
    /// returns once it listens.
    public init(port: Int, directory: URL, wrapper: [String]) throws {
        self.port = port
        file = directory.appendingPathComponent("webhooks.jsonl")
        logFile = directory.appendingPathComponent("receiver.log")
        let scriptFile = directory.appendingPathComponent("receiver.py")
        try Self.script.write(to: scriptFile, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let python = try findExecutable("python3").path
        let command = wrapper + [python, "-u", scriptFile.path, String(port), file.path]
        process = try SpawnedProcess(executable: command[0], arguments: Array(command.dropFirst()), output: logFile.path)
        let deadline = Date().addingTimeInterval(15)
        while !log.contains("listening on") {
            if !process.isRunning || Date() > deadline {
                process.send(SIGKILL)
                throw TestKitError("the webhook receiver did not start: \(log)")
            }
            usleep(20_000)
        }
    }

    /// The URL webhooks go to (from inside the receiver's namespace).
    public var url: String { "http://127.0.0.1:\(port)/alarms" }

    /// Everything the receiver wrote to stdout and stderr.
    public var log: String { String(decoding: (try? Data(contentsOf: logFile)) ?? Data(), as: UTF8.self) }

    /// Every request so far, in arrival order.
    public var lines: [Line] {
        let text = String(decoding: (try? Data(contentsOf: file)) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").compactMap { raw in
            guard let object = (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any],
                  let received = (object["received_ms"] as? NSNumber)?.int64Value else { return nil }
            return Line(receivedMilliseconds: received, path: object["path"] as? String ?? "",
                        event: object["event"] as? [String: Any] ?? [:], text: String(raw))
        }
    }

    /// Stops the receiver.
    public func stop() {
        guard process.isRunning else { return }
        process.send(SIGTERM)
        if process.waitForExit(timeoutSeconds: 3) == nil {
            process.send(SIGKILL)
            _ = process.waitForExit(timeoutSeconds: 3)
        }
    }

    deinit { stop() }
}
