import MeltWatchAlarms
import MeltWatchCore

/// Every JSON answer of the duty API (contract §5), rendered from the backend's values.
enum DutyJSON {
    /// `GET /api/alarms`: open alarms by priority, then age; `includeClosed` adds those recently back
    /// to normal, newest first.
    static func alarms(_ book: AlarmBook, includeClosed: Bool, plantNames: [String: String]) -> String {
        var records = Array(book.open.values)
        records.sort { ($0.last.priority, $0.raisedAt, $0.id) < ($1.last.priority, $1.raisedAt, $1.id) }
        if includeClosed { records += book.closed.reversed() }
        var w = JSONWriter()
        w.beginArray()
        for r in records { write(r, into: &w, maintenance: book.maintenance(of: r), plantName: plantNames[r.last.plant]) }
        w.endArray()
        return w.output
    }

    /// One alarm: the contract event's content plus its lifecycle (`GET /api/alarms/{id}`, and the
    /// answer to an action).
    static func alarm(_ r: AlarmRecord, book: AlarmBook, plantNames: [String: String]) -> String {
        var w = JSONWriter()
        write(r, into: &w, maintenance: book.maintenance(of: r), plantName: plantNames[r.last.plant])
        return w.output
    }

    private static func write(_ r: AlarmRecord, into w: inout JSONWriter, maintenance: Maintenance?, plantName: String?) {
        let e = r.last
        w.beginObject()
        w.key("alarm_id"); w.string(e.alarmID)
        w.key("state"); w.string(e.state.rawValue)
        w.key("class"); w.string(e.alarmClass.rawValue)
        w.key("rule"); w.string(e.rule)
        w.key("priority"); w.string(e.priority.rawValue)
        w.key("plant"); w.string(e.plant)
        w.key("plant_name"); w.string(plantName)
        w.key("equipment"); w.string(e.equipment)
        w.key("signals"); w.beginArray(); for s in e.signals { w.string(s) }; w.endArray()
        w.key("value"); w.number(e.value)
        w.key("limit"); w.number(e.limit)
        w.key("unit"); w.string(e.unit)
        w.key("latency_ms"); w.integer(e.latencyMilliseconds)
        w.key("cause"); w.string(e.cause)
        w.key("basis"); w.string(e.basis)
        w.key("message"); w.string(e.message)
        w.key("raised_at"); w.string(r.raisedAt.rfc3339)
        w.key("updated_at"); w.string(e.eventTime.rfc3339)
        w.key("latched"); w.bool(r.latched)
        w.key("escalated"); w.bool(r.escalated)
        w.key("reactivations"); w.integer(Int64(r.reactivations ?? 0))
        w.key("folded_transitions"); w.integer(Int64(r.foldedTransitions ?? 0))
        w.key("acknowledged_by"); w.string(r.acknowledgedBy)
        w.key("acknowledged_at"); w.string(r.acknowledgedAt?.rfc3339)
        w.key("ack_note"); w.string(r.ackNote)
        w.key("shelved_by"); w.string(r.shelvedBy)
        w.key("shelved_until"); w.string(r.shelvedUntil?.rfc3339)
        w.key("shelve_reason"); w.string(r.shelveReason)
        w.key("out_of_service_by"); w.string(maintenance?.operator)
        w.key("out_of_service_reason"); w.string(maintenance?.reason)
        w.key("out_of_service_until"); w.string(maintenance?.ends.rfc3339)
        w.key("last_event_id"); w.string(e.eventID)
        w.key("config_hash"); w.string(e.configHash)
        w.endObject()
    }

    /// `GET /api/equipment?state=out-of-service`: every equipment in maintenance, who, why, since and
    /// until when, ordered by plant and equipment.
    static func maintenance(_ table: [String: Maintenance]) -> String {
        var w = JSONWriter()
        w.beginArray()
        for key in table.keys.sorted() {
            let m = table[key]!
            let parts = key.split(separator: ":", maxSplits: 1).map(String.init)
            w.beginObject()
            w.key("plant"); w.string(parts.first ?? key)
            w.key("equipment"); w.string(parts.count > 1 ? parts[1] : "")
            w.key("state"); w.string(AlarmEvent.State.outOfService.rawValue)
            w.key("operator"); w.string(m.operator)
            w.key("reason"); w.string(m.reason)
            w.key("since"); w.string(m.since.rfc3339)
            w.key("until"); w.string(m.ends.rfc3339)
            w.endObject()
        }
        w.endArray()
        return w.output
    }

    /// `GET /api/signals`: every configured signal with its last value, event time, quality and health.
    static func signals(_ signals: [DutySignal]) -> String {
        var w = JSONWriter()
        w.beginArray()
        for s in signals {
            w.beginObject()
            w.key("plant"); w.string(s.plant)
            w.key("equipment"); w.string(s.equipment)
            w.key("role"); w.string(s.role)
            w.key("topic"); w.string(s.topic)
            w.key("value")
            switch s.value {
            case .number(let d): w.number(d)
            case .bool(let b): w.bool(b)
            case nil: w.string(nil)
            }
            w.key("quality"); w.string(s.eventTime == nil ? nil : s.quality.name)
            w.key("event_time"); w.string(s.eventTime?.rfc3339)
            w.key("health"); w.string(s.health)
            w.endObject()
        }
        w.endArray()
        return w.output
    }

    /// `GET /api/status`.
    static func status(_ s: DutyStatus) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("version"); w.string(s.version)
        w.key("config_hash"); w.string(s.configHash)
        w.key("started_at"); w.string(s.startedAt.rfc3339)
        w.key("plants"); w.beginArray()
        for p in s.plants { w.beginObject(); w.key("id"); w.string(p.id); w.key("name"); w.string(p.name); w.endObject() }
        w.endArray()
        w.key("ready"); w.bool(s.ready)
        w.endObject()
        return w.output
    }

    /// An error answer: `{"error": message}`.
    static func error(_ message: String) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("error"); w.string(message)
        w.endObject()
        return w.output
    }
}
