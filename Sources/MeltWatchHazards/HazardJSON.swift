import MeltWatchCore

/// Hazard records as JSON (contract §5, §7): the API's answers, `meltwatch hazards` and the
/// `meltwatch.hazard/1` events the duty room receives. Keys in a fixed order.
public enum HazardJSON {
    public static let schema = "meltwatch.hazard/1"

    /// One record.
    public static func hazard(_ h: Hazard) -> String {
        var w = JSONWriter()
        write(h, into: &w)
        return w.output
    }

    /// A list of records.
    public static func list(_ hazards: [Hazard]) -> String {
        var w = JSONWriter()
        w.beginArray()
        for h in hazards { write(h, into: &w) }
        w.endArray()
        return w.output
    }

    /// A `meltwatch.hazard/1` event: what happened, when, by whom, and the record after it.
    /// `event_id` is `<hazard id>:<history length>`, stable across replays and resends.
    public static func event(_ n: HazardDesk.Notice) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("schema"); w.string(schema)
        w.key("event_id"); w.string(n.eventID)
        w.key("event"); w.string(n.kind.rawValue)
        w.key("event_time"); w.string(n.at.rfc3339)
        w.key("by"); w.string(n.by)
        w.key("hazard"); write(n.hazard, into: &w)
        w.endObject()
        return w.output
    }

    /// Writes one record as an object.
    public static func write(_ h: Hazard, into w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.string(h.id)
        w.key("plant"); w.string(h.plant)
        w.key("equipment"); w.string(h.equipment)
        w.key("cause"); w.string(h.cause)
        w.key("rule"); w.string(h.rule)
        w.key("class"); w.string(h.hazardClass.rawValue)
        w.key("description"); w.string(h.description)
        w.key("basis"); w.string(h.basis)
        w.key("found_at"); w.string(h.foundAt.rfc3339)
        w.key("last_seen_at"); w.string(h.lastSeenAt.rfc3339)
        w.key("occurrences"); w.integer(Int64(h.occurrences))
        w.key("evidence"); w.beginObject()
        w.key("alarm_ids"); w.beginArray(); for a in h.alarmIDs { w.string(a) }; w.endArray()
        w.key("from"); w.string(h.evidenceFrom.rfc3339)
        w.key("to"); w.string(h.evidenceTo.rfc3339)
        w.endObject()
        w.key("status"); w.string(h.status.rawValue)
        w.key("overdue"); w.bool(h.overdue)
        w.key("rectification")
        if let r = h.rectification {
            w.beginObject()
            w.key("responsible"); w.string(r.responsible)
            w.key("measures"); w.string(r.measures)
            w.key("funds"); w.string(r.funds)
            w.key("deadline"); w.string(r.deadline.rfc3339)
            w.key("plan"); w.string(r.plan)
            w.key("recorded_by"); w.string(r.recordedBy)
            w.key("recorded_at"); w.string(r.recordedAt.rfc3339)
            w.endObject()
        } else {
            w.string(nil)
        }
        w.key("verification_available"); verification(h.evidence, into: &w)
        w.key("evidence_needed"); w.beginArray(); for k in h.evidenceNeeded { w.string(k.rawValue) }; w.endArray()
        w.key("closed_at"); w.string(h.closedAt?.rfc3339)
        w.key("closed_by"); w.string(h.closedBy)
        w.key("verification"); verification(h.verification, into: &w)
        w.key("history"); w.beginArray()
        for c in h.history {
            w.beginObject()
            w.key("at"); w.string(c.at.rfc3339)
            w.key("by"); w.string(c.by)
            w.key("what"); w.string(c.what)
            w.key("status"); w.string(c.status.rawValue)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    private static func verification(_ v: Hazard.Verification?, into w: inout JSONWriter) {
        guard let v else { return w.string(nil) }
        w.beginObject()
        w.key("kind"); w.string(v.kind.rawValue)
        w.key("at"); w.string(v.at.rfc3339)
        w.key("latency_ms"); w.integer(v.latencyMilliseconds)
        w.key("detail"); w.string(v.detail)
        w.endObject()
    }
}
