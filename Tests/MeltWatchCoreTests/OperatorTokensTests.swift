import Testing

@testable import MeltWatchCore

@Suite("duty.tokens_file: one operator per line, named, with a role")
struct OperatorTokensTests {
    @Test("lines are `<token> <operator name> [operator|manager]`; comments and blank lines are skipped")
    func parses() throws {
        let t = try OperatorTokens.parse("""
            # duty room, shift A

            mw-0123456789abcdef01 张三
            \tmw-abcdefabcdefabcdef 李 四 manager\t
            mw-ffffffffffffffffff Wang Wu operator
            """, path: "duty.tokens")
        #expect(t.operators == [DutyOperator(name: "张三", role: .operator), DutyOperator(name: "李 四", role: .manager),
                                DutyOperator(name: "Wang Wu", role: .operator)])
        #expect(t.authenticate("mw-abcdefabcdefabcdef") == DutyOperator(name: "李 四", role: .manager))
        #expect(t.authenticate("mw-0123456789abcdef01") == DutyOperator(name: "张三", role: .operator))
        #expect(t.authenticate("mw-0123456789abcdef0") == nil)
        #expect(t.authenticate("mw-0123456789abcdef012") == nil)
        #expect(t.authenticate("") == nil)
    }

    @Test("a file that cannot be used says which line and why", arguments: [
        ("short 张三\n", "duty.tokens:1: the token is 5 characters; at least 16"),
        ("# c\nmw-0123456789abcdef01\n", "duty.tokens:2: the operator's name is missing"),
        ("mw-0123456789abcdef01 manager\n", "duty.tokens:1: the operator's name is missing"),
        ("mw-0123456789abcdef01 张三\nmw-0123456789abcdef02 张三\n", "duty.tokens:2: operator '张三' already has a token on line 1"),
        ("mw-0123456789abcdef01 张三\nmw-0123456789abcdef01 李四\n", "duty.tokens:2: this token is already given to another operator"),
        ("# only a comment\n\n", "duty.tokens: no operator token"),
        ("mw-0123456789abcdéf01 张三\n", "duty.tokens:1: the token must be printable ASCII"),
    ])
    func refuses(text: String, message: String) {
        #expect(throws: OperatorTokensError.self) { try OperatorTokens.parse(text, path: "duty.tokens") }
        do {
            _ = try OperatorTokens.parse(text, path: "duty.tokens")
        } catch {
            #expect(error.description.hasPrefix(message), "\(error)")
        }
    }

    @Test("equal only for equal bytes, whatever the lengths")
    func constantTimeEqual() {
        #expect(OperatorTokens.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!OperatorTokens.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!OperatorTokens.constantTimeEqual(Array("abc".utf8), Array("abc\0".utf8)))
        #expect(!OperatorTokens.constantTimeEqual([], [0]))
        #expect(OperatorTokens.constantTimeEqual([], []))
    }
}
