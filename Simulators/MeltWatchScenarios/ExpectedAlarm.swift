import MeltWatchCore
import MeltWatchRules

/// One alarm event a scenario must cause: which rule, raised or cleared, when, and the facts the
/// event must carry (contract section 4).
///
/// Class, priority and basis are not written by hand: they come from the template catalog
/// (``MeltWatchRules/TemplateCatalog``) for process and interlock rules, and from ``deviceFacts``
/// for the sensor-health rules every template carries, so a scenario cannot drift from the rules.
public struct ExpectedAlarm: Sendable, Hashable, CustomStringConvertible {
    /// The alarm events scenarios expect (acknowledge, shelve and the rest come from operators).
    public enum Event: String, Sendable, Hashable {
        /// `updated`: what a chattering rule's folded transitions come to (domain.md "Chattering folds").
        case raised, cleared, updated
    }

    /// The rule id (`flow-difference`, `stale`, …).
    public var rule: String
    public var event: Event
    /// Every equipment of this template in the rig must produce the event (unless ``equipment`` is set).
    public var template: String
    /// Only this equipment of the rig must produce the event (a fault on one of several alike).
    public var equipment: String?
    /// For device rules: the sick signal (the event's `signals` is exactly `[signal]`).
    public var signal: String?
    /// The event's `event_time` in scenario time; nil when only its occurrence matters.
    public var at: SimTime?
    /// The event's `latency_ms`; nil means the event must carry none (`null`).
    public var latencyMilliseconds: Int64?
    /// Fragments the event's `cause` must contain; empty means the event must carry none.
    public var causeContains: [String]
    public var alarmClass: AlarmEvent.AlarmClass
    public var priority: AlarmEvent.Priority
    public var basis: String

    /// A process or interlock rule of `template`; class, priority and basis from the catalog.
    public init(_ rule: String, _ event: Event, on template: String, at: SimTime?, latencyMilliseconds: Int64? = nil,
                causeContains: [String] = []) {
        let facts: (AlarmEvent.AlarmClass, AlarmEvent.Priority, String)
        if let spec = TemplateCatalog.named(template)?.rules.first(where: { $0.id == rule }) {
            facts = (spec.alarmClass, spec.priority, spec.basis)
        } else if let device = Self.deviceFacts[rule] {
            facts = device
        } else if rule == TemplateCatalog.setpointRule.id {
            let spec = TemplateCatalog.setpointRule
            facts = (spec.alarmClass, spec.priority, spec.basis)
        } else {
            preconditionFailure("a scenario expects rule '\(rule)' of \(template), which this build does not implement")
        }
        self.rule = rule
        self.event = event
        self.template = template
        self.at = at
        self.latencyMilliseconds = latencyMilliseconds
        self.causeContains = causeContains
        (alarmClass, priority, basis) = facts
    }

    /// A sensor-health alarm (`stale`, `frozen`, `bad-quality`) of one signal.
    public static func device(_ condition: SignalHealth.Condition, _ event: Event, on template: String, signal: String,
                              at: SimTime?) -> ExpectedAlarm {
        var e = ExpectedAlarm(condition.rawValue, event, on: template, at: at)
        e.signal = signal
        return e
    }

    /// Class, priority and basis of the sensor-health rules. The engine raises them for every role of
    /// every template (`Engine+Health.swift`) rather than listing them in each template's rules, so
    /// these are the one place outside the rule code that states them: device, high, 令10 第十四条.
    /// `chattering` (a rule raising three times within a minute) is the engine's too: device, low.
    public static let deviceFacts: [String: (AlarmEvent.AlarmClass, AlarmEvent.Priority, String)] = Dictionary(
        uniqueKeysWithValues: SignalHealth.Condition.allCases.map { ($0.rawValue, (.device, .high, "令10 第十四条")) }
            + [("chattering", (.device, .low, "令10 第十四条"))]
    )

    /// This expectation for one equipment of the rig only.
    public func only(_ equipment: String) -> ExpectedAlarm {
        var e = self
        e.equipment = equipment
        return e
    }

    /// One line for listings: `flow-difference raised t=12s (process, emergency)`.
    public var description: String {
        var s = equipment.map { "\($0) " } ?? ""
        s += "\(rule)"
        if let signal { s += "[\(signal)]" }
        s += " \(event.rawValue)"
        if let at { s += " \(at)" }
        if let latencyMilliseconds { s += " latency \(SimTime.text(latencyMilliseconds))s" }
        if !causeContains.isEmpty { s += " cause ∋ \(causeContains.map { "'\($0)'" }.joined(separator: ", "))" }
        return s
    }
}

/// A device alarm a scenario accepts but does not require, with the reason. Should stay rare: each
/// one is a place where the scenario does not pin the monitor's behaviour down.
public struct ToleratedAlarm: Sendable, Equatable {
    public var rule: String
    public var template: String
    public var reason: String

    /// Tolerates `rule` on equipment of `template`, for `reason`.
    public init(_ rule: String, on template: String, because reason: String) {
        self.rule = rule
        self.template = template
        self.reason = reason
    }
}
