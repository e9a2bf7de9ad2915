import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchHazards
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import MeltWatchDuty

/// A duty backend that records the actions it is asked to perform and performs none.
final class RecordingBackend: DutyBackend {
    let actions = NIOLockedValueBox<[AlarmAction]>([])
    let events = EventLog()

    var book: AlarmBook { AlarmBook(settings: .init(escalateAfterMilliseconds: 0, configHash: "sha256:test")) }
    var plantNames: [String: String] { [:] }
    func hasEquipment(plant: String, equipment: String) -> Bool { plant == "baotou-steel" && equipment == "co-1" }
    func perform(_ action: AlarmAction) async -> Result<AlarmRecord?, AlarmActionError> {
        actions.withLockedValue { $0.append(action) }
        return .success(nil)
    }
    var signals: [DutySignal] { [] }
    var status: DutyStatus { DutyStatus(version: "test", configHash: "sha256:test", startedAt: EventTime(milliseconds: 0), plants: [], ready: true) }
    var readiness: Readiness { Readiness(checks: []) }
    var metrics: String { "" }
    /// One open hazard, so that steps on it reach `perform`.
    func hazards(status: Hazard.Status?) throws -> [Hazard] { [Self.hazard].filter { status == nil || $0.status == status } }
    func hazard(id: String) throws -> Hazard? { id == Self.hazard.id ? Self.hazard : nil }
    static let hazard = Hazard(id: "HZ-baotou-steel-2026-001", plant: "baotou-steel", equipment: "co-1", cause: "device:co", rule: "stale",
                               hazardClass: .major, description: "监测信号失效", basis: "令10 第十四条", foundAt: EventTime(milliseconds: 0),
                               alarmIDs: [], evidenceFrom: EventTime(milliseconds: 0), evidenceTo: EventTime(milliseconds: 0))

    func application(tokens: OperatorTokens?, publicURL: String? = nil) -> some ApplicationProtocol {
        DutyServer.application(host: "127.0.0.1", port: 0, backend: self,
                               settings: DutySettings(tokens: OperatorTokenStore(path: tokens == nil ? nil : "tokens", tokens: tokens),
                                                      publicURL: publicURL, logger: Logger(label: "duty-test")))
    }
}

private let tokens = try! OperatorTokens.parse("""
    zs-0123456789abcdef 张三
    ww-0123456789abcdef 王五 manager
    """, path: "tokens")

private func headers(_ fields: [(String, String)]) -> HTTPFields {
    var h = HTTPFields()
    for (name, value) in fields { h[HTTPField.Name(name)!] = value }
    return h
}

private let ack = "/api/alarms/baotou-steel%3Aco-1%3Aco-level-1%3A1/ack"

@Suite("Who may write to the duty API (contract §5): origin, content type, the operator's own token")
struct WriteGuardTests {
    @Test("a cross-site form post whose text/plain body is valid JSON is refused, and nothing is performed")
    func crossSiteFormPost() async throws {
        let backend = RecordingBackend()
        try await backend.application(tokens: nil).test(.live) { client in
            // What <form enctype="text/plain" action="http://127.0.0.1:8080/…"> on another site sends.
            let r = try await client.execute(uri: ack, method: .post,
                                             headers: headers([("Content-Type", "text/plain"), ("Origin", "https://evil.example")]),
                                             body: ByteBuffer(string: #"{"operator":"张三","x":"="}"#))
            #expect(r.status == .forbidden)
            // The same body from no browser at all, as text/plain: refused for what it says it is.
            let plain = try await client.execute(uri: ack, method: .post, headers: headers([("Content-Type", "text/plain")]),
                                                 body: ByteBuffer(string: #"{"operator":"张三"}"#))
            #expect(plain.status == .unsupportedMediaType)
            let form = try await client.execute(uri: ack, method: .post, headers: headers([("Content-Type", "application/x-www-form-urlencoded")]),
                                                body: ByteBuffer(string: "operator=x"))
            #expect(form.status == .unsupportedMediaType)
            let fetchSite = try await client.execute(uri: ack, method: .post,
                                                     headers: headers([("Content-Type", "application/json"), ("Sec-Fetch-Site", "cross-site")]),
                                                     body: ByteBuffer(string: #"{"operator":"张三"}"#))
            #expect(fetchSite.status == .forbidden)
        }
        #expect(backend.actions.withLockedValue { $0 }.isEmpty)
    }

    @Test("without a tokens file (loopback) a JSON write from the console's own origin acts under the body's name")
    func anonymousByNameOnLoopback() async throws {
        let backend = RecordingBackend()
        try await backend.application(tokens: nil).test(.live) { client in
            let r = try await client.execute(uri: ack, method: .post,
                                             headers: headers([("Content-Type", "application/json; charset=utf-8"), ("Origin", "http://localhost")]),
                                             body: ByteBuffer(string: #"{"operator":"张三","note":"现场已通风"}"#))
            #expect(r.status == .ok)
            let missing = try await client.execute(uri: ack, method: .post, headers: headers([("Content-Type", "application/json")]),
                                                   body: ByteBuffer(string: "{}"))
            #expect(missing.status == .badRequest, "without tokens the body names the operator")
        }
        #expect(backend.actions.withLockedValue { $0 } == [.acknowledge(alarmID: "baotou-steel:co-1:co-level-1:1", operator: "张三", note: "现场已通风")])
    }

    @Test("with tokens: none or a wrong one is 401, another operator's name is 403, the token's own name is recorded")
    func tokensNameTheOperator() async throws {
        let backend = RecordingBackend()
        try await backend.application(tokens: tokens).test(.live) { client in
            func post(_ body: String, token: String?) async throws -> HTTPResponse.Status {
                var fields = [("Content-Type", "application/json")]
                if let token { fields.append(("Authorization", "Bearer \(token)")) }
                return try await client.execute(uri: ack, method: .post, headers: headers(fields), body: ByteBuffer(string: body)).status
            }
            #expect(try await post(#"{"operator":"张三"}"#, token: nil) == .unauthorized)
            #expect(try await post(#"{"operator":"张三"}"#, token: "zs-0123456789abcdeX") == .unauthorized)
            #expect(try await post(#"{"operator":"张三"}"#, token: "zs-0123456789abcde") == .unauthorized, "a prefix is not the token")
            #expect(try await post(#"{"operator":"张三"}"#, token: "ww-0123456789abcdef") == .forbidden, "王五's token acting as 张三")
            #expect(try await post(#"{"operator":"张三"}"#, token: "zs-0123456789abcdef") == .ok)
            #expect(try await post(#"{"note":"by token"}"#, token: "ww-0123456789abcdef") == .ok)
            let oos = try await client.execute(uri: "/api/equipment/baotou-steel/co-1/out-of-service", method: .post,
                                               headers: headers([("Content-Type", "application/json"), ("Authorization", "bearer ww-0123456789abcdef")]),
                                               body: ByteBuffer(string: #"{"reason":"更换探头","hours":8}"#))
            #expect(oos.status == .ok)
        }
        #expect(backend.actions.withLockedValue { $0 } == [
            .acknowledge(alarmID: "baotou-steel:co-1:co-level-1:1", operator: "张三", note: nil),
            .acknowledge(alarmID: "baotou-steel:co-1:co-level-1:1", operator: "王五", note: "by token"),
            .outOfService(plant: "baotou-steel", equipment: "co-1", operator: "王五", reason: "更换探头", hours: 8),
        ])
    }

    @Test("with tokens the console's origin is its Host or duty.public_url; any other origin is 403")
    func originsWithTokens() async throws {
        let backend = RecordingBackend()
        try await backend.application(tokens: tokens, publicURL: "https://duty.plant.example/").test(.live) { client in
            func post(origin: String) async throws -> HTTPResponse.Status {
                try await client.execute(uri: ack, method: .post,
                                         headers: headers([("Content-Type", "application/json"), ("Origin", origin),
                                                           ("Authorization", "Bearer zs-0123456789abcdef")]),
                                         body: ByteBuffer(string: "{}")).status
            }
            let statuses = [
                try await post(origin: "https://duty.plant.example"), try await post(origin: "http://localhost"),
                try await post(origin: "null"), try await post(origin: "https://duty.plant.example.evil.example"),
            ]
            #expect(statuses == [.ok, .ok, .forbidden, .forbidden])
        }
        #expect(backend.actions.withLockedValue { $0.count } == 2)
    }

    @Test("every answer forbids framing, errors and the console included")
    func framingForbidden() async throws {
        try await RecordingBackend().application(tokens: tokens).test(.live) { client in
            for (uri, method) in [("/", HTTPRequest.Method.get), ("/api/alarms", .get), ("/nowhere", .get), (ack, .post)] {
                let r = try await client.execute(uri: uri, method: method)
                #expect(r.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true, "\(method) \(uri): \(r.status)")
                #expect(r.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(method) \(uri)")
                #expect(r.headers[.xContentTypeOptions] == "nosniff", "\(method) \(uri)")
            }
        }
    }

    @Test("the console is its page, stylesheet and script from the binary, under a policy that loads nothing else")
    func consoleFiles() async throws {
        try await RecordingBackend().application(tokens: nil).test(.live) { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
            let csp = page.headers[.contentSecurityPolicy] ?? ""
            #expect(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "\(csp)")
            let html = String(buffer: page.body)
            #expect(html.contains(#"<script src="console.js"></script>"#) && html.contains(#"<link rel="stylesheet" href="console.css">"#))
            let js = try await client.execute(uri: "/console.js", method: .get)
            #expect(js.status == .ok && js.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(String(buffer: js.body).contains("function el(tag, attrs, ...children)"))
            let css = try await client.execute(uri: "/console.css", method: .get)
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8" && css.body.readableBytes > 1000)
        }
    }

    @Test("the verdict alone: JSON media types, loopback hosts, DNS rebinding without tokens")
    func verdicts() {
        func v(_ contentType: String?, origin: String? = nil, host: String? = "127.0.0.1:8080", tokens: Bool = false, publicURL: String? = nil) -> WriteGuard.Verdict {
            WriteGuard.check(contentType: contentType, origin: origin, fetchSite: nil, host: host, hasTokens: tokens, publicURL: publicURL)
        }
        #expect(v("application/json") == .allowed)
        #expect(v("Application/JSON ; charset=UTF-8") == .allowed)
        #expect(v(nil).isRefused(.unsupportedMediaType))
        #expect(v("application/jsonx").isRefused(.unsupportedMediaType))
        #expect(v("multipart/form-data; boundary=x").isRefused(.unsupportedMediaType))
        #expect(v("application/json", origin: "http://127.0.0.1:8080") == .allowed)
        #expect(v("application/json", origin: "http://[::1]:8080", host: "[::1]:8080") == .allowed)
        // A rebinding page: its own name resolves to 127.0.0.1, so Origin matches Host. Without
        // tokens only loopback names count as the console's own.
        #expect(v("application/json", origin: "http://rebind.example:8080", host: "rebind.example:8080").isRefused(.forbidden))
        #expect(v("application/json", origin: "http://duty-pc:8080", host: "duty-pc:8080", tokens: true) == .allowed)
        #expect(v("application/json", origin: "https://duty.example", host: "10.0.0.5:8080", tokens: true, publicURL: "https://duty.example/console") == .allowed)
        #expect(v("application/json", origin: "https://duty.example:8443", host: "10.0.0.5:8080", tokens: true, publicURL: "https://duty.example/") .isRefused(.forbidden))
        #expect(WriteGuard.isLoopback(authority: "127.1.2.3") && WriteGuard.isLoopback(authority: "localhost:80"))
        #expect(!WriteGuard.isLoopback(authority: "127.0.0.1.evil.example") && !WriteGuard.isLoopback(authority: "128.0.0.1:80"))
    }
    @Test("only a manager's token closes a hazard without evidence; the operator's token is refused (403)")
    func overrideNeedsAManager() async throws {
        let backend = RecordingBackend()
        try await backend.application(tokens: tokens).test(.live) { client in
            let uri = "/api/hazards/HZ-baotou-steel-2026-001/close"
            let body = #"{"override_reason":"整体更换后试车合格"}"#
            let byOperator = try await client.execute(uri: uri, method: .post, headers: headers([("Content-Type", "application/json"),
                                                      ("Authorization", "Bearer zs-0123456789abcdef")]), body: ByteBuffer(string: body))
            #expect(byOperator.status == .forbidden)
            #expect(backend.actions.withLockedValue { $0 }.isEmpty)
            let byManager = try await client.execute(uri: uri, method: .post, headers: headers([("Content-Type", "application/json"),
                                                     ("Authorization", "Bearer ww-0123456789abcdef")]), body: ByteBuffer(string: body))
            #expect(byManager.status == .ok)
            #expect(backend.actions.withLockedValue { $0 } == [.hazard(.close(hazardID: "HZ-baotou-steel-2026-001", operator: "王五", note: nil,
                                                                               overrideReason: "整体更换后试车合格"))])
        }
    }
}

extension WriteGuard.Verdict {
    func isRefused(_ status: HTTPResponse.Status) -> Bool {
        if case .refused(let s, _) = self { return s == status }
        return false
    }

}
