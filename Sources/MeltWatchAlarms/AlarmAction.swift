import Foundation
import MeltWatchCore

/// Something done to alarms from outside the rules: an operator's acknowledgement, shelve or
/// maintenance switch, or the daemon raising or clearing an alarm about itself.
///
/// Actions are journaled and travel in the same ordered stream as the readings, so `replay` applies
/// each at the same point and produces the same events as the live daemon did.
public enum AlarmAction: Sendable, Equatable, Codable {
    /// An operator acknowledges an alarm (ends a latched one).
    case acknowledge(alarmID: String, operator: String, note: String?)
    /// An operator shelves an alarm for `minutes`; it unshelves itself when they are up.
    case shelve(alarmID: String, operator: String, minutes: Int, reason: String)
    /// An operator ends a shelve early.
    case unshelve(alarmID: String, operator: String, note: String?)
    /// Equipment goes into maintenance for `hours` (1–168; nil only in journals written before the
    /// limit, taken as the longest): its alarms are recorded as `out-of-service`, not annunciated,
    /// and it returns to service by itself when the time is up.
    case outOfService(plant: String, equipment: String, operator: String, reason: String, hours: Int?)
    /// Equipment comes back from maintenance.
    case returnToService(plant: String, equipment: String, operator: String, note: String?)
    /// The daemon raises (or clears) an alarm about itself; `subject` tells apart alarms of one rule
    /// (e.g. which webhook is failing).
    case system(rule: String, raise: Bool, subject: String, message: String)
    /// An operator's step on a hazard record (rectification, submission, closing, a proof test):
    /// in the same ordered stream, so the hazard records are a function of the journal too.
    case hazard(HazardAction)

    /// Longest shelve an operator may set: a shelved alarm is a hidden hazard.
    public static let maximumShelveMinutes = 24 * 60
    /// Longest maintenance an operator may set (7 days): out of service always ends by itself.
    public static let maximumOutOfServiceHours = 168

    /// The action as journaled (JSON).
    public func encoded() -> [UInt8] {
        // Encoding a value of this enum cannot fail: only strings and integers.
        Array((try? JSONEncoder().encode(self)) ?? Data())
    }

    /// Decodes a journaled action; nil when the bytes are not one.
    public init?(encoded bytes: [UInt8]) {
        guard let action = try? JSONDecoder().decode(AlarmAction.self, from: Data(bytes)) else { return nil }
        self = action
    }

    /// The operator named by the action (nil for the daemon's own).
    public var operatorName: String? {
        switch self {
        case .acknowledge(_, let o, _), .shelve(_, let o, _, _), .unshelve(_, let o, _),
             .outOfService(_, _, let o, _, _), .returnToService(_, _, let o, _): o
        case .hazard(let h): h.operatorName
        case .system: nil
        }
    }
}

/// Why an action was refused; maps onto an HTTP status in the duty API.
public struct AlarmActionError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// Malformed request: missing operator, minutes out of range (400).
        case invalid
        /// No such alarm or equipment (404).
        case notFound
        /// Not possible in the alarm's state, e.g. already acknowledged (409).
        case conflict
        /// The daemon could not take the action now (503).
        case unavailable
    }

    public var code: Code
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
