import Crypto
import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import Synchronization

/// A local stand-in for a DingTalk, WeCom or Feishu group robot, strict as the platform documents it:
/// the token or key in the URL, the signature (DingTalk: `timestamp` and `sign` on the URL; Feishu:
/// in the body) checked against the secret and a one-hour clock window, the message shape, and the
/// rate limit (`perWindow` messages in any `window`, 20 a minute on the platforms). Every answer is
/// HTTP 200 with the platform's own code, as the platforms answer: `errcode` 0 / 310000 (bad
/// signature) / 130101 (too fast) for DingTalk, `errcode` 0 / 93000 / 45009 for WeCom, `code` 0 /
/// 19021 / 9499 for Feishu.
public final class RobotStandIn: Sendable {
    public enum Kind: String, Sendable { case dingtalk, wecom, feishu }

    /// One message the robot received.
    public struct Message: Sendable {
        public var body: [UInt8]
        /// The platform code it answered (0: accepted).
        public var code: Int
        public var text: String { String(decoding: body, as: UTF8.self) }
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        /// The message's text: markdown `text` / `content`, or Feishu's `content.text`.
        public var content: String {
            let j = json
            if let md = j["markdown"] as? [String: Any] { return (md["text"] as? String) ?? (md["content"] as? String) ?? "" }
            if let c = j["content"] as? [String: Any] { return c["text"] as? String ?? "" }
            return ""
        }
    }

    public let kind: Kind
    public let token = "tok-\(UUID().uuidString)"
    private let secret: String?
    private let perWindow: Int
    private let window: Duration
    private let messages = NIOLockedValueBox<[Message]>([])
    private let recent = NIOLockedValueBox<[ContinuousClock.Instant]>([])
    private let forcedFailures = NIOLockedValueBox<[Int]>([])
    private let portBox = Synchronization.Atomic<Int>(0)
    private let group = NIOLockedValueBox<ServiceGroup?>(nil)
    private let task = NIOLockedValueBox<Task<Void, any Error>?>(nil)

    public init(kind: Kind, secret: String?, perWindow: Int = 20, window: Duration = .seconds(60)) async throws {
        self.kind = kind
        self.secret = secret
        self.perWindow = perWindow
        self.window = window
        let router = Router()
        router.post("**") { [self] request, _ -> Response in
            let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            let code = judge(path: request.uri.path, query: request.uri.query ?? "", body: body)
            messages.withLockedValue { $0.append(Message(body: body, code: code)) }
            var w = "{"
            switch kind {
            case .dingtalk, .wecom: w += "\"errcode\":\(code),\"errmsg\":\"\(code == 0 ? "ok" : "stand-in error \(code)")\""
            case .feishu: w += "\"code\":\(code),\"msg\":\"\(code == 0 ? "success" : "stand-in error \(code)")\",\"data\":{}"
            }
            w += "}"
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: w)))
        }
        let ready = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "robot-stand-in")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { ready.continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        group.withLockedValue { $0 = serviceGroup }
        task.withLockedValue { $0 = Task {
            defer { ready.continuation.finish() }
            try await serviceGroup.run()
        } }
        for await bound in ready.stream {
            portBox.store(bound, ordering: .relaxed)
            break
        }
        guard portBox.load(ordering: .relaxed) != 0 else { throw TestKitError("robot stand-in could not listen") }
    }

    /// The robot's URL as the platform gives it (the token in it).
    public var url: String {
        let base = "http://127.0.0.1:\(portBox.load(ordering: .relaxed))"
        switch kind {
        case .dingtalk: return base + "/robot/send?access_token=\(token)"
        case .wecom: return base + "/cgi-bin/webhook/send?key=\(token)"
        case .feishu: return base + "/open-apis/bot/v2/hook/\(token)"
        }
    }

    /// Answers the next requests with these platform codes (then judges normally again).
    public func failNext(codes: [Int]) { forcedFailures.withLockedValue { $0 = codes } }

    /// Every message so far, in arrival order.
    public var all: [Message] { messages.withLockedValue { $0 } }
    /// The messages it accepted (code 0).
    public var accepted: [Message] { all.filter { $0.code == 0 } }

    /// Waits until `predicate` holds for the accepted messages, or the timeout passes.
    public func waitFor(timeoutSeconds: Double = 30, _ predicate: ([Message]) -> Bool) async -> [Message] {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if predicate(accepted) { return accepted }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return accepted
    }

    public func stop() {
        if let g = group.withLockedValue({ $0 }) { Task { await g.triggerGracefulShutdown() } }
    }

    // MARK: The platform's checks

    private func judge(path: String, query: String, body: [UInt8]) -> Int {
        let q = Self.parseQuery(query)
        let json = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        let (badAuth, badSign, tooFast): (Int, Int, Int) = switch kind {
        case .dingtalk: (300001, 310000, 130101)
        case .wecom: (93000, 93000, 45009)
        case .feishu: (19001, 19021, 9499)
        }
        if let forced = forcedFailures.withLockedValue({ $0.isEmpty ? nil : $0.removeFirst() }) { return forced }
        let now = Date().timeIntervalSince1970
        switch kind {
        case .dingtalk:
            guard path == "/robot/send", q["access_token"] == token else { return badAuth }
            if let secret {
                guard let ts = q["timestamp"].flatMap(Int64.init), let sign = q["sign"], abs(now - Double(ts) / 1000) < 3600 else { return badSign }
                let expected = HMAC<SHA256>.authenticationCode(for: Array("\(ts)\n\(secret)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
                guard sign == Data(expected).base64EncodedString() else { return badSign }
            }
            guard json["msgtype"] as? String == "markdown", let md = json["markdown"] as? [String: Any],
                  md["title"] is String, md["text"] is String else { return 40035 }
        case .wecom:
            guard path == "/cgi-bin/webhook/send", q["key"] == token else { return badAuth }
            guard json["msgtype"] as? String == "markdown", let md = json["markdown"] as? [String: Any], md["content"] is String else { return 40008 }
        case .feishu:
            guard path == "/open-apis/bot/v2/hook/\(token)" else { return badAuth }
            if let secret {
                guard let tsText = json["timestamp"] as? String, let ts = Int64(tsText), let sign = json["sign"] as? String,
                      abs(now - Double(ts)) < 3600 else { return badSign }
                let expected = HMAC<SHA256>.authenticationCode(for: [UInt8](), using: SymmetricKey(data: Array("\(ts)\n\(secret)".utf8)))
                guard sign == Data(expected).base64EncodedString() else { return badSign }
            }
            guard json["msg_type"] as? String == "text", let c = json["content"] as? [String: Any], c["text"] is String else { return 9499 + 1 }
        }
        // The rate: every authenticated message counts, accepted or not.
        let limited = recent.withLockedValue { r -> Bool in
            let t = ContinuousClock.now
            r.removeAll { t - $0 >= window }
            r.append(t)
            return r.count > perWindow
        }
        return limited ? tooFast : 0
    }

    /// `a=b&c=d`, percent-decoded.
    static func parseQuery(_ query: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            out[kv[0].removingPercentEncoding ?? kv[0]] = kv[1].removingPercentEncoding ?? kv[1]
        }
        return out
    }
}
