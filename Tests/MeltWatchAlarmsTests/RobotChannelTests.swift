import Foundation
import MeltWatchCore
import MeltWatchTestKit
import Testing

@testable import MeltWatchAlarms

private func alarm(_ n: Int, _ priority: AlarmEvent.Priority = .emergency, kind: AlarmEvent.Kind = .raised, plant: String = "baotou-steel") -> AlarmEnvelope {
    AlarmEnvelope(event: AlarmEvent(
        kind: kind, state: .activeUnacked, alarmClass: .process, rule: "flow-difference", priority: priority,
        plant: plant, equipment: "bof1-lance", activation: n, ordinal: 1, signals: ["inlet_flow", "outlet_flow"], value: 4.1, limit: 3, unit: "m3/h",
        basis: "令10 第四条(四)", message: "进出水流量差 4.1 m3/h > 3.0 m3/h", eventTime: EventTime(milliseconds: 1_764_000_000_000 + Int64(n) * 1000),
        configHash: "sha256:x"
    ), emittedAt: EventTime(milliseconds: 0))
}

/// The reference values of each platform's signature, computed by openssl (not by our code).
private func openssl(_ script: String) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", script]
    let out = Pipe()
    p.standardOutput = out
    try? p.run()
    p.waitUntilExit()
    return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite("Chat robots (contract §8): DingTalk, WeCom, Feishu against strict local stand-ins")
struct RobotChannelTests {
    @Test("signatures as the platforms document them, checked against openssl")
    func signatures() {
        // DingTalk: base64(HMAC-SHA256(key=secret, "<ms>\n<secret>")).
        #expect(RobotChannel.dingTalkSign(timestampMilliseconds: 1_700_000_000_000, secret: "SECabc")
            == openssl("printf '1700000000000\\nSECabc' | openssl dgst -sha256 -hmac SECabc -binary | base64"))
        // Feishu: base64(HMAC-SHA256(key="<s>\n<secret>", empty message)).
        #expect(RobotChannel.feishuSign(timestampSeconds: 1_700_000_000, secret: "fs")
            == openssl("printf '' | openssl dgst -sha256 -hmac \"$(printf '1700000000\\nfs')\" -binary | base64"))
        #expect(RobotChannel.urlEncoded("a+b/c=") == "a%2Bb%2Fc%3D")
    }

    @Test("a signed card in Chinese reaches each platform: priority, plant, equipment, message, basis, time, console link", arguments: [
        (RobotStandIn.Kind.dingtalk, "SEC-ding"), (.wecom, nil), (.feishu, "fs-secret"),
    ] as [(RobotStandIn.Kind, String?)])
    func card(kind: RobotStandIn.Kind, secret: String?) async throws {
        let robot = try await RobotStandIn(kind: kind, secret: secret)
        defer { robot.stop() }
        let channel = RobotChannel(endpoint: RobotEndpoint(kind: RobotEndpoint.Kind(rawValue: kind.rawValue)!, url: robot.url, secret: secret,
                                                           consoleURL: "https://duty.plant.example/"), index: 1)
        #expect(channel.name == "\(kind.rawValue)#1" && !channel.cursorKey.contains(robot.token))
        let rig = try Rig(channels: [channel])
        let run = Task { try await rig.delivery.run() }
        defer { run.cancel() }
        rig.append([alarm(1)])
        let got = await robot.waitFor(timeoutSeconds: 10) { !$0.isEmpty }
        let text = try #require(got.first?.content)
        for part in ["紧急", "报警", "baotou-steel", "bof1-lance", "进出水流量差 4.1 m3/h", "令10 第四条(四)", "北京时间", "https://duty.plant.example/",
                     "baotou-steel:bof1-lance:flow-difference:1"] {
            #expect(text.contains(part), "\(kind): \(part) in \(text)")
        }
        #expect(robot.all.allSatisfy { $0.code == 0 }, "signature and shape accepted: \(robot.all.map(\.code))")
    }

    @Test("an answer of HTTP 200 with an error code is a failure, retried until the platform takes it", arguments: [
        (RobotStandIn.Kind.dingtalk, [310000, 130101]), (.wecom, [45009]), (.feishu, [9499, 19021]),
    ] as [(RobotStandIn.Kind, [Int])])
    func errorCodesAreRetried(kind: RobotStandIn.Kind, codes: [Int]) async throws {
        let robot = try await RobotStandIn(kind: kind, secret: nil)
        defer { robot.stop() }
        robot.failNext(codes: codes)
        let rig = try Rig(channels: [RobotChannel(endpoint: RobotEndpoint(kind: RobotEndpoint.Kind(rawValue: kind.rawValue)!, url: robot.url, secret: nil), index: 1)])
        let run = Task { try await rig.delivery.run() }
        defer { run.cancel() }
        rig.append([alarm(1)])
        _ = await robot.waitFor(timeoutSeconds: 10) { !$0.isEmpty }
        #expect(robot.all.map(\.code) == codes + [0])
        #expect(await drained(rig.delivery))
    }

    @Test("min_priority: events of lower alarms and heartbeats are passed over, in order, and count as delivered")
    func minPriority() async throws {
        let robot = try await RobotStandIn(kind: .wecom, secret: nil)
        defer { robot.stop() }
        let rig = try Rig(channels: [RobotChannel(endpoint: RobotEndpoint(kind: .wecom, url: robot.url, secret: nil, minPriority: .high), index: 1)])
        let run = Task { try await rig.delivery.run() }
        defer { run.cancel() }
        rig.append([alarm(1, .low), alarm(2, .high), alarm(3, .medium), alarm(4, .emergency)])
        _ = await robot.waitFor(timeoutSeconds: 10) { $0.count == 2 }
        #expect(await drained(rig.delivery))
        #expect(robot.accepted.map { $0.content.contains("flow-difference:2") } == [true, false])
        #expect(robot.accepted.map { $0.content.contains("flow-difference:4") } == [false, true])
    }

    @Test("a flood past the robot's rate goes out as digests: every event named once, never more posts than the window allows, none refused")
    func floodBecomesDigests() async throws {
        // 5 a window of 2 s here (20 a minute on the platforms): 40 events.
        let robot = try await RobotStandIn(kind: .dingtalk, secret: "SEC", perWindow: 5, window: .seconds(2))
        defer { robot.stop() }
        let channel = RobotChannel(endpoint: RobotEndpoint(kind: .dingtalk, url: robot.url, secret: "SEC", perMinute: 5), index: 1, window: .seconds(2))
        let rig = try Rig(channels: [channel])
        let run = Task { try await rig.delivery.run() }
        defer { run.cancel() }
        rig.append((1...40).map { alarm($0) })
        #expect(await drained(rig.delivery), "all 40 delivered")
        let messages = robot.all
        #expect(messages.allSatisfy { $0.code == 0 }, "the robot never had to refuse one: \(messages.map(\.code))")
        var named: [Int] = []
        for m in robot.accepted {
            for n in 1...40 where m.content.contains("flow-difference:\(n)）") || m.content.contains("flow-difference:\(n)\n") || m.content.hasSuffix("flow-difference:\(n)") {
                named.append(n)
            }
        }
        #expect(named.sorted() == Array(1...40), "each event named exactly once: \(named.sorted())")
        #expect(messages.contains { $0.content.contains("条报警") }, "a digest went out")
        #expect(messages.count < 40, "\(messages.count) posts for 40 events")
    }
}
