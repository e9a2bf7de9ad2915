import AsyncHTTPClient
import Crypto
import Foundation
import MeltWatchCore
import NIOConcurrencyHelpers
import NIOCore

/// A chat robot of the duty room's messaging (contract §8): the duty officers' phones.
public struct RobotEndpoint: Sendable {
    /// `dingtalk`, `wecom` or `feishu`.
    public enum Kind: String, Sendable, CaseIterable {
        case dingtalk, wecom, feishu

        /// How the card calls the platform in logs.
        var platform: String {
            switch self {
            case .dingtalk: "DingTalk"
            case .wecom: "WeCom"
            case .feishu: "Feishu"
            }
        }
    }

    public var kind: Kind
    /// The robot's URL; it carries the robot's token, so it is a secret.
    public var url: String
    /// The signing secret (DingTalk and Feishu "加签"); nil sends unsigned.
    public var secret: String?
    /// Events of alarms at or above this priority go out; the rest are passed over.
    public var minPriority: AlarmEvent.Priority
    /// Messages a minute the platform takes (about 20 for each); past it, one digest message.
    public var perMinute: Int
    /// `duty.public_url`: the console, linked from every card.
    public var consoleURL: String?

    public init(kind: Kind, url: String, secret: String?, minPriority: AlarmEvent.Priority = .high, perMinute: Int = 20, consoleURL: String? = nil) {
        self.kind = kind
        self.url = url
        self.secret = secret
        self.minPriority = minPriority
        self.perMinute = perMinute
        self.consoleURL = consoleURL
    }
}

/// Posts alarm events to a DingTalk, WeCom or Feishu group robot, each by its platform's rules.
///
/// - **Signing.** DingTalk: `&timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(secret, "<ms>\n<secret>")))>`
///   on the URL. Feishu: `timestamp` (seconds) and `sign` = base64(HMAC-SHA256 keyed with
///   `"<s>\n<secret>"` over nothing) in the body. WeCom: the key in the URL is all.
/// - **Success** is HTTP 200 *and* `errcode` (DingTalk, WeCom) or `code` (Feishu) 0: the platforms
///   answer 200 to a bad signature or a rate limit. Anything else is a failure, retried like a
///   webhook (and `webhook-failing` after a minute).
/// - **Rate.** At most ``RobotEndpoint/perMinute`` posts in any ``window``. While more than one
///   event waits and only one post is left in the window, that post is a digest of up to
///   ``digestLimit`` of them ("12 条报警：…"); with none left it answers ``DeliveryResult/wait(_:)``
///   and the delivery loop comes back when the window moves (a stopping daemon does not wait). So a
///   flood reaches the phones late by at most a minute and never is dropped.
/// - **Which events.** Those of alarms at or above ``RobotEndpoint/minPriority``; heartbeats never
///   (a phone is not a watchdog). The rest are passed over in order, counted as delivered.
public final class RobotChannel: DeliveryChannel, @unchecked Sendable {
    // @unchecked: `sent` is behind its lock; everything else is immutable.
    public let endpoint: RobotEndpoint
    public let name: String
    public let cursorKey: String
    let client: HTTPClient
    let requestTimeout: Duration
    /// The rate window (a minute; shorter in tests).
    let window: Duration
    /// The most events one digest names.
    let digestLimit = 30
    /// When each post of the current window went out.
    private let sent = NIOLockedValueBox<[Duration]>([])
    /// The window's time (monotonic) and the signatures' (wall).
    private let clock: any ServiceClock

    /// A robot, the `index`th of its kind in `duty.channels` (1-based: `dingtalk#1`).
    public init(endpoint: RobotEndpoint, index: Int, client: HTTPClient = .shared, requestTimeout: Duration = .seconds(10),
                window: Duration = .seconds(60), clock: any ServiceClock = SystemServiceClock()) {
        self.endpoint = endpoint
        self.client = client
        self.requestTimeout = requestTimeout
        self.window = window
        self.clock = clock
        name = "\(endpoint.kind.rawValue)#\(index)"
        cursorKey = Self.cursorKey(kind: endpoint.kind.rawValue, url: endpoint.url)
    }

    /// Whether the robot posts `event` at all.
    func wants(_ event: AlarmEvent) -> Bool {
        event.kind != .heartbeat && event.priority <= endpoint.minPriority  // emergency < high < medium < low
    }

    public func deliver(_ envelope: AlarmEnvelope) async -> DeliveryResult {
        guard wants(envelope.event) else { return .delivered }
        return await post(text: Self.card(envelope, consoleURL: endpoint.consoleURL), title: Self.title(envelope.event))
    }

    public func deliver(batch: ArraySlice<StoredEvent>) async -> (covered: Int, result: DeliveryResult) {
        // Events it does not post go by first, in order.
        let skipped = batch.prefix { !wants($0.envelope.event) }.count
        if skipped > 0 { return (skipped, .delivered) }
        let wanted = batch.filter { wants($0.envelope.event) }
        let first = wanted[0]  // batch[0] is wanted: the skipped ones went above
        if let wait = roomIn() { return (0, .wait(wait)) }
        let left = endpoint.perMinute - sent.withLockedValue { $0.count }
        if left > 1 || wanted.count == 1 {
            return (1, await post(text: Self.card(first.envelope, consoleURL: endpoint.consoleURL), title: Self.title(first.envelope.event)))
        }
        // The window's last post: everything waiting, as one digest. It covers the batch up to the
        // last event it names (events passed over in between go with it).
        let named = Array(wanted.prefix(digestLimit))
        let lastNamed = named.last!.sequence
        let covered = batch.prefix { $0.sequence <= lastNamed }.count
        let result = await post(text: Self.digest(named.map(\.envelope.event), waiting: wanted.count, consoleURL: endpoint.consoleURL),
                                title: "\(named.count) 条报警")
        return (covered, result)
    }

    /// Nil when the window has room for a post now, else how long until it has.
    private func roomIn() -> Duration? {
        let now = clock.elapsed
        return sent.withLockedValue { s in
            s.removeAll { now - $0 >= window }
            return s.count < endpoint.perMinute ? nil : window - (now - s[0])
        }
    }

    private func post(text: String, title: String) async -> DeliveryResult {
        // The post counts in the window from when its answer came (or the attempt ended): the
        // platform counted it on arrival, which is before that, so our window never runs ahead of
        // the platform's (counted from the send, a post a minute later could still be its 21st).
        defer { sent.withLockedValue { [now = clock.elapsed] in $0.append(now) } }
        var url = endpoint.url
        let body: String
        let now = clock.wall.milliseconds
        var w = JSONWriter()
        w.beginObject()
        switch endpoint.kind {
        case .dingtalk:
            if let secret = endpoint.secret {
                let sign = Self.dingTalkSign(timestampMilliseconds: now, secret: secret)
                url += (url.contains("?") ? "&" : "?") + "timestamp=\(now)&sign=\(Self.urlEncoded(sign))"
            }
            w.key("msgtype"); w.string("markdown")
            w.key("markdown"); w.beginObject()
            w.key("title"); w.string(title)
            w.key("text"); w.string(text)
            w.endObject()
        case .wecom:
            w.key("msgtype"); w.string("markdown")
            w.key("markdown"); w.beginObject()
            w.key("content"); w.string(text)
            w.endObject()
        case .feishu:
            if let secret = endpoint.secret {
                let seconds = now / 1000
                w.key("timestamp"); w.string("\(seconds)")
                w.key("sign"); w.string(Self.feishuSign(timestampSeconds: seconds, secret: secret))
            }
            w.key("msg_type"); w.string("text")
            w.key("content"); w.beginObject()
            w.key("text"); w.string(Self.plain(text))
            w.endObject()
        }
        w.endObject()
        body = w.output
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "meltwatch")
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(requestTimeout.milliseconds))
            let answer = try await response.body.collect(upTo: 64 * 1024)
            guard response.status.code == 200 else { return .failed("\(endpoint.kind.platform) HTTP \(response.status.code)") }
            return Self.verdict(kind: endpoint.kind, answer: Data(answer.readableBytesView))
        } catch {
            // The error can name the URL (and so the token): say what kind of failure only.
            return .failed("\(endpoint.kind.platform): \(type(of: error)) \(Self.redacted("\(error)"))")
        }
    }

    /// The platform's own verdict in a 200 answer: `errcode` (DingTalk, WeCom) or `code` (Feishu) 0.
    static func verdict(kind: RobotEndpoint.Kind, answer: Data) -> DeliveryResult {
        guard let object = (try? JSONSerialization.jsonObject(with: answer)) as? [String: Any] else {
            return .failed("\(kind.platform) answered 200 without a JSON object")
        }
        let field = kind == .feishu ? "code" : "errcode"
        // Feishu's older answers carry StatusCode instead of code.
        let code = (object[field] as? NSNumber) ?? (kind == .feishu ? object["StatusCode"] as? NSNumber : nil)
        guard let code else { return .failed("\(kind.platform) answered 200 without \(field)") }
        guard code.intValue == 0 else {
            let message = (object["errmsg"] as? String) ?? (object["msg"] as? String) ?? ""
            return .failed("\(kind.platform) \(field) \(code.intValue): \(redacted(message))")
        }
        return .delivered
    }

    /// Error text with anything that looks like a URL's query (a token) cut off.
    static func redacted(_ text: String) -> String {
        var out = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !out.isEmpty { out += " " }
            if let q = word.firstIndex(of: "?"), word.contains("://") { out += word[..<q] + "?…" } else { out += word }
        }
        return out
    }

    // MARK: Signing (each platform's documented scheme)

    /// DingTalk: base64(HMAC-SHA256(key: secret, message: "<ms>\n<secret>")); URL-encode it on the URL.
    public static func dingTalkSign(timestampMilliseconds: Int64, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestampMilliseconds)\n\(secret)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// Feishu: base64(HMAC-SHA256(key: "<s>\n<secret>", message: empty)).
    public static func feishuSign(timestampSeconds: Int64, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: [UInt8](), using: SymmetricKey(data: Array("\(timestampSeconds)\n\(secret)".utf8)))
        return Data(mac).base64EncodedString()
    }

    static func urlEncoded(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    // MARK: Cards

    static let priorityNames: [AlarmEvent.Priority: String] = [.emergency: "紧急", .high: "高", .medium: "中", .low: "低"]
    static let kindNames: [AlarmEvent.Kind: String] = [
        .raised: "报警", .updated: "报警更新", .cleared: "恢复正常", .acknowledged: "已确认", .shelved: "已搁置",
        .unshelved: "解除搁置", .escalated: "超时未确认", .heartbeat: "心跳", .outOfService: "停用检修", .inService: "恢复监测",
    ]

    static func title(_ e: AlarmEvent) -> String {
        if e.rule == HazardNotice.rule, e.alarmClass == .system { return "【隐患】\(e.plant)/\(e.equipment)" }
        return "【\(priorityNames[e.priority] ?? e.priority.rawValue)】\(kindNames[e.kind] ?? e.kind.rawValue) \(e.plant)/\(e.equipment)"
    }

    /// The event time in Beijing time (UTC+8), as the duty room reads it.
    static func beijing(_ t: EventTime) -> String {
        let date = Date(timeIntervalSince1970: Double(t.milliseconds) / 1000)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: date) + " (北京时间)"
    }

    /// One event as a markdown card: priority, what happened, plant and equipment, the message, the
    /// legal basis, the time, who acted, a link to the console.
    /// An envelope's card: a hazard event's own, else the alarm's.
    static func card(_ envelope: AlarmEnvelope, consoleURL: String?) -> String {
        guard let h = envelope.hazard else { return card(envelope.event, consoleURL: consoleURL) }
        var lines = [
            "### 【\(h.className)】\(h.kindName) \(h.plant)/\(h.equipment)",
            "- 隐患编号：\(h.hazardID)",
            "- 隐患描述：\(h.description)",
            "- 判定依据：\(h.basis)",
            "- 状态：**\(h.statusName)**",
            "- 时间：\(beijing(h.eventTime))",
        ]
        if h.by != "meltwatch" { lines.append("- 操作人：\(h.by)") }
        if let consoleURL { lines.append("\n[打开值班台 (duty console)](\(consoleURL))") }
        return lines.joined(separator: "\n")
    }

    static func card(_ e: AlarmEvent, consoleURL: String?) -> String {
        var lines = [
            "### \(title(e))",
            "- 优先级：**\(priorityNames[e.priority] ?? e.priority.rawValue)**",
            "- 厂区/设备：\(e.plant) / \(e.equipment)",
            "- 内容：\(e.message)",
            "- 依据：\(e.basis)",
            "- 时间：\(beijing(e.eventTime))",
        ]
        if let who = e.operator { lines.append("- 操作人：\(who)\(e.note.map { "（\($0)）" } ?? "")") }
        lines.append("- 报警编号：\(e.alarmID)")
        if let consoleURL { lines.append("\n[打开值班台 (duty console)](\(consoleURL))") }
        return lines.joined(separator: "\n")
    }

    /// Several events as one message, when the robot's rate would hold them back.
    static func digest(_ events: [AlarmEvent], waiting: Int, consoleURL: String?) -> String {
        var lines = ["### \(events.count) 条报警 (digest: the robot's rate limit)"]
        for e in events {
            lines.append("- 【\(priorityNames[e.priority] ?? e.priority.rawValue)】\(kindNames[e.kind] ?? e.kind.rawValue) \(e.plant)/\(e.equipment)：\(e.message)（\(beijing(e.eventTime))，\(e.alarmID)）")
        }
        if waiting > events.count { lines.append("- …另有 \(waiting - events.count) 条，随后发送 (\(waiting - events.count) more follow)") }
        if let consoleURL { lines.append("\n[打开值班台 (duty console)](\(consoleURL))") }
        return lines.joined(separator: "\n")
    }

    /// Markdown to plain text for Feishu's text message.
    static func plain(_ markdown: String) -> String {
        markdown.replacingOccurrences(of: "### ", with: "").replacingOccurrences(of: "**", with: "")
    }
}
