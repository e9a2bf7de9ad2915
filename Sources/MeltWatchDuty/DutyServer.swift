import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchHazards
import NIOCore

/// What `/readyz` reports: each check by name, and whether it passes.
public struct Readiness: Sendable {
    public var checks: [(name: String, ok: Bool, detail: String)]

    /// Creates a report.
    public init(checks: [(name: String, ok: Bool, detail: String)]) { self.checks = checks }

    /// True when every check passes.
    public var isReady: Bool { checks.allSatisfy(\.ok) }
}

/// The duty-room HTTP listener on `duty.listen` (contract §5): the console, the alarm API with
/// acknowledge / shelve / maintenance, Server-Sent Events with resume, signals, metrics, health.
public enum DutyServer {
    /// Builds the Hummingbird application; run it as a `Service` in the daemon's service group.
    ///
    /// At most `maxConnections` connections are open at once (SSE streams included): past it the
    /// listener stops accepting, and new connections wait in the kernel's backlog (or are refused
    /// when that is full) instead of taking descriptors the journal, the broker link and the
    /// webhooks need. A connection with no request in progress closes after `idleTimeout`.
    public static func application(
        host: String, port: Int, backend: some DutyBackend, settings: DutySettings,
        onListening: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let logger = settings.logger
        let router = Router()
        router.add(middleware: SecurityHeaders())
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache",
                                            .contentSecurityPolicy: ConsolePage.contentSecurityPolicy],
                     body: .init(byteBuffer: ByteBuffer(bytes: ConsolePage.html)))
        }
        router.get("console.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "no-cache"],
                     body: .init(byteBuffer: ByteBuffer(bytes: ConsolePage.css)))
        }
        router.get("console.js") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"],
                     body: .init(byteBuffer: ByteBuffer(bytes: ConsolePage.js)))
        }
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            let r = backend.readiness
            var text = r.isReady ? "ready\n" : "not ready\n"
            for c in r.checks { text += "\(c.ok ? "ok  " : "FAIL") \(c.name): \(c.detail)\n" }
            return Response(status: r.isReady ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: backend.metrics)))
        }
        router.get("api/status") { _, _ in json(DutyJSON.status(backend.status)) }
        router.get("api/signals") { _, _ in json(DutyJSON.signals(backend.signals)) }
        router.get("api/alarms") { request, _ -> Response in
            switch request.uri.queryParameters.get("state") ?? "active" {
            case "active": return json(DutyJSON.alarms(backend.book, includeClosed: false, plantNames: backend.plantNames))
            case "all": return json(DutyJSON.alarms(backend.book, includeClosed: true, plantNames: backend.plantNames))
            case let other: return problem(.badRequest, "state must be active or all, not \(other)")
            }
        }
        router.get("api/alarms/:id") { _, context -> Response in
            let id = decoded(context.parameters.get("id") ?? "")
            let book = backend.book
            return book.record(id).map { json(DutyJSON.alarm($0, book: book, plantNames: backend.plantNames)) } ?? problem(.notFound, "no alarm \(id)")
        }
        router.post("api/alarms/:id/:verb") { request, context -> Response in
            let id = decoded(context.parameters.get("id") ?? "")
            let verb = context.parameters.get("verb") ?? ""
            return await write(request, backend: backend, settings: settings) { body, who, _ in
                switch verb {
                case "ack": return .acknowledge(alarmID: id, operator: who, note: try body.optionalString("note"))
                case "shelve":
                    return .shelve(alarmID: id, operator: who, minutes: try body.integer("minutes"), reason: try body.string("reason"))
                case "unshelve": return .unshelve(alarmID: id, operator: who, note: try body.optionalString("note"))
                default: throw AlarmActionError(.notFound, "unknown action \(verb) (ack, shelve, unshelve)")
                }
            }
        }
        router.get("api/equipment") { request, _ -> Response in
            let state = request.uri.queryParameters.get("state") ?? "out-of-service"
            guard state == "out-of-service" else { return problem(.badRequest, "state must be out-of-service, not \(state)") }
            return json(DutyJSON.maintenance(backend.book.maintenance))
        }
        router.post("api/equipment/:plant/:equipment/:verb") { request, context -> Response in
            let plant = decoded(context.parameters.get("plant") ?? ""), equipment = decoded(context.parameters.get("equipment") ?? "")
            let verb = context.parameters.get("verb") ?? ""
            guard backend.hasEquipment(plant: plant, equipment: equipment) else { return problem(.notFound, "no equipment \(plant)/\(equipment) in the config") }
            return await write(request, backend: backend, settings: settings) { body, who, _ in
                switch verb {
                case "proof-test":
                    return .hazard(.proofTest(plant: plant, equipment: equipment, operator: who, minutes: try body.integer("minutes")))
                case "out-of-service":
                    // Out of service always ends: the hours are required, 1–168 (the book checks the range).
                    return .outOfService(plant: plant, equipment: equipment, operator: who, reason: try body.string("reason"),
                                         hours: try body.integer("hours"))
                case "in-service": return .returnToService(plant: plant, equipment: equipment, operator: who, note: try body.optionalString("note"))
                default: throw AlarmActionError(.notFound, "unknown action \(verb) (out-of-service, in-service, proof-test)")
                }
            }
        }
        router.get("api/hazards") { request, _ -> Response in
            let status: Hazard.Status?
            do {
                status = try Hazard.Status.filter(request.uri.queryParameters.get("status") ?? "all")
            } catch {
                return problem(.badRequest, "\(error)")
            }
            do {
                return json(HazardJSON.list(try backend.hazards(status: status)))
            } catch {
                return problem(.serviceUnavailable, "the hazard records cannot be read now: \(error)")
            }
        }
        router.get("api/hazards/:id") { _, context -> Response in
            let id = decoded(context.parameters.get("id") ?? "")
            do {
                return try backend.hazard(id: id).map { json(HazardJSON.hazard($0)) } ?? problem(.notFound, "no hazard \(id)")
            } catch {
                return problem(.serviceUnavailable, "the hazard records cannot be read now: \(error)")
            }
        }
        router.post("api/hazards/:id/:verb") { request, context -> Response in
            let id = decoded(context.parameters.get("id") ?? "")
            let verb = context.parameters.get("verb") ?? ""
            let existing: Hazard?
            do {
                existing = try backend.hazard(id: id)
            } catch {
                return problem(.serviceUnavailable, "the hazard records cannot be read now: \(error)")
            }
            guard let existing else { return problem(.notFound, "no hazard \(id)") }
            guard existing.status != .closed else {
                return problem(.conflict, "hazard \(id) was closed (已销号) at \(existing.closedAt?.rfc3339 ?? "?") by \(existing.closedBy ?? "?"): a closed record does not change")
            }
            return await write(request, backend: backend, settings: settings, hazardID: id) { body, who, role in
                switch verb {
                case "rectification":
                    let text = try body.string("deadline")
                    guard let deadline = HazardDeadline.parse(text) else {
                        throw AlarmActionError(.invalid, "\"deadline\" must be a date (YYYY-MM-DD, due by 24:00 Beijing time) or RFC 3339, not \(text)")
                    }
                    return .hazard(.rectify(hazardID: id, operator: who, responsible: try body.string("responsible"), measures: try body.text("measures"),
                                            funds: try body.string("funds"), deadline: deadline, plan: try body.text("plan")))
                case "submit": return .hazard(.submit(hazardID: id, operator: who, note: try body.optionalString("note")))
                case "close":
                    let reason = try body.optionalString("override_reason")
                    if reason != nil, role != .manager {
                        throw AlarmActionError(.invalid, role == nil
                            ? "override needs a manager's token (duty.tokens_file role manager): 无数据验证的销号须由负责人批准"
                            : "only a manager may close a hazard without evidence from the data (无数据验证的销号须由负责人批准)")
                            .forbidden
                    }
                    return .hazard(.close(hazardID: id, operator: who, note: try body.optionalString("note"), overrideReason: reason))
                default: throw AlarmActionError(.notFound, "unknown action \(verb) (rectification, submit, close)")
                }
            }
        }
        router.get("api/events") { request, _ -> Response in
            let resume = request.headers[HTTPField.Name("Last-Event-ID")!].flatMap { Int64($0) }
                ?? request.uri.queryParameters.get("last_event_id").flatMap { Int64($0) }
            return EventStream.response(log: backend.events, resumeAfter: resume, heartbeat: settings.streamHeartbeat, clock: settings.clock)
        }
        let idleTimeout = settings.idleTimeout
        let idle = TimeAmount.nanoseconds(Int64(idleTimeout.components.seconds) * 1_000_000_000 + idleTimeout.components.attoseconds / 1_000_000_000)
        return Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: idle)),
            configuration: .init(address: .hostname(host, port: port), serverName: "meltwatch",
                                 availableConnectionsDelegate: MaximumAvailableConnections(settings.maxConnections, logger: logger)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    /// A write request: where it comes from, what it carries, whose token; then the JSON body, the
    /// action through the daemon, the alarm back. `makeAction` gets the body and the operator's name.
    /// `hazardID`: the write is a step on that hazard, answered with the record as stored after it.
    private static func write(_ request: Request, backend: some DutyBackend, settings: DutySettings, hazardID: String? = nil,
                              _ makeAction: (RequestBody, String, DutyOperator.Role?) throws -> AlarmAction) async -> Response {
        let tokens = settings.tokens.tokens
        switch WriteGuard.check(request, hasTokens: tokens != nil, publicURL: settings.publicURL) {
        case .refused(let status, let message):
            settings.logger.warning("duty write refused", metadata: ["http.status": "\(status.code)", "http.path": "\(request.uri.path)", "refusal": "\(message)"])
            return problem(status, message)
        case .allowed: break
        }
        var holder: DutyOperator?
        if let tokens {
            guard let presented = WriteGuard.bearerToken(request), let who = tokens.authenticate(presented) else {
                return problem(.unauthorized, "an operator token is required: Authorization: Bearer <token> (需要值班员令牌)")
            }
            holder = who
        }
        let action: AlarmAction
        do {
            var req = request
            let buffer = try await req.collectBody(upTo: 64 * 1024)
            let body = try RequestBody(buffer)
            let name: String
            if let holder {
                // The token says who acts; a body naming someone else is an attempt to act for them.
                if let claimed = try body.optionalString("operator"), claimed != holder.name {
                    return problem(.forbidden, "this token is \(holder.name)'s, not \(claimed)'s: a write is recorded under its token's operator (令牌与值班员不符)")
                }
                name = holder.name
            } else {
                name = try body.string("operator")
            }
            action = try makeAction(body, name, holder?.role)
        } catch let e as Forbidden {
            return problem(.forbidden, e.message)
        } catch let e as AlarmActionError {
            return problem(e)
        } catch {
            return problem(.badRequest, "body must be a JSON object of at most 64 KiB: \(error)")
        }
        switch await backend.perform(action) {
        case .success(let record?):
            settings.logger.notice("operator action", metadata: ["alarm.id": "\(record.id)", "operator": "\(action.operatorName ?? "-")"])
            return json(DutyJSON.alarm(record, book: backend.book, plantNames: backend.plantNames))
        case .success(nil):
            if let hazardID {
                settings.logger.notice("operator action on a hazard", metadata: ["hazard.id": "\(hazardID)", "operator": "\(action.operatorName ?? "-")"])
                return (try? backend.hazard(id: hazardID)).flatMap { $0.map { json(HazardJSON.hazard($0)) } } ?? json(#"{"ok":true}"#)
            }
            return json(#"{"ok":true}"#)
        case .failure(let e):
            return problem(e)
        }
    }

    private static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(DutyJSON.error(message), status: status)
    }

    private static func problem(_ e: AlarmActionError) -> Response {
        let status: HTTPResponse.Status = switch e.code {
        case .invalid: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .unavailable: .serviceUnavailable
        }
        return problem(status, e.message)
    }

    /// Path parameters arrive as sent: `%3A` for the colons of an alarm id from `encodeURIComponent`.
    private static func decoded(_ s: String) -> String { s.removingPercentEncoding ?? s }
}

/// A write refused for who the operator is (403), not for what was sent.
struct Forbidden: Error {
    var message: String
}

extension AlarmActionError {
    /// The same refusal as a 403.
    var forbidden: Forbidden { Forbidden(message: message) }
}

/// A rectification's 时限 as the duty room types it.
public enum HazardDeadline {
    /// `YYYY-MM-DD` (due by 24:00 Beijing time that day) or an RFC 3339 time.
    public static func parse(_ text: String) -> EventTime? {
        if let day = BeijingDate(parsing: text) { return day.end }
        return EventTime(parsing: text)
    }
}

/// A JSON request body with typed field access and errors that name the field.
struct RequestBody {
    private let object: [String: Any]

    init(_ buffer: ByteBuffer) throws {
        guard let object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
            throw AlarmActionError(.invalid, "body must be a JSON object")
        }
        self.object = object
    }

    func string(_ key: String) throws -> String {
        guard let s = object[key] as? String, !s.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw AlarmActionError(.invalid, "\"\(key)\" is required and must be a non-empty string")
        }
        guard s.count <= 200 else { throw AlarmActionError(.invalid, "\"\(key)\" is longer than 200 characters") }
        return s
    }

    /// A required text that may be long (measures, plans): at most 2000 characters.
    func text(_ key: String) throws -> String {
        guard let s = object[key] as? String, !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw AlarmActionError(.invalid, "\"\(key)\" is required and must be a non-empty string")
        }
        guard s.count <= 2000 else { throw AlarmActionError(.invalid, "\"\(key)\" is longer than 2000 characters") }
        return s
    }

    func optionalString(_ key: String) throws -> String? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let s = v as? String else { throw AlarmActionError(.invalid, "\"\(key)\" must be a string") }
        guard s.count <= 1000 else { throw AlarmActionError(.invalid, "\"\(key)\" is longer than 1000 characters") }
        return s.isEmpty ? nil : s
    }

    func integer(_ key: String) throws -> Int {
        guard let n = object[key] as? NSNumber, let i = Int(exactly: n.doubleValue) else {
            throw AlarmActionError(.invalid, "\"\(key)\" is required and must be an integer")
        }
        return i
    }
}
