/// What the duty room does to a hazard record (contract §5, §7). Journaled like an alarm action
/// and applied on the engine thread at its point in the stream, so `replay` rebuilds the hazards,
/// their rectifications and their closings exactly as the daemon had them.
public enum HazardAction: Sendable, Equatable, Codable {
    /// 整改措施: who is responsible, what is done, the funds, the deadline (时限) and the contingency
    /// plan (预案), as 附件2's note demands. Moves an open hazard to `rectifying`.
    case rectify(hazardID: String, operator: String, responsible: String, measures: String, funds: String,
                 deadline: EventTime, plan: String)
    /// The plant says the rectification is done: `awaiting-verification` (待验收).
    case submit(hazardID: String, operator: String, note: String?)
    /// 销号: accepted only with evidence from the data, unless a manager overrides with a reason.
    case close(hazardID: String, operator: String, note: String?, overrideReason: String?)
    /// An operator-initiated test trip on the equipment in the next `minutes`: the trips in that
    /// window are proof tests (a passed one verifies an interlock hazard).
    case proofTest(plant: String, equipment: String, operator: String, minutes: Int)

    /// Longest proof-test window an operator may open.
    public static let maximumProofTestMinutes = 240

    /// The operator named by the action.
    public var operatorName: String {
        switch self {
        case .rectify(_, let o, _, _, _, _, _), .submit(_, let o, _), .close(_, let o, _, _), .proofTest(_, _, let o, _): o
        }
    }
}
