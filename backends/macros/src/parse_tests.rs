//! The parsers on token lists lexed from strings; a token's span is its byte offset, so each
//! test checks where its error points as well as what it says.

use super::*;

#[derive(Debug)]
struct Lexed {
    kind: Kind,
    at: usize,
}

impl Token for Lexed {
    type Span = usize;
    fn kind(&self) -> Kind {
        self.kind.clone()
    }
    fn span(&self) -> usize {
        self.at
    }
}

/// A lexer for the token trees these tests need: identifiers, numbers with suffixes, strings
/// without escapes, groups, and single-character punctuation.
fn lex(text: &str) -> Vec<Lexed> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        let start = i;
        let word = |mut i: usize| {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            i
        };
        let kind = if c.is_whitespace() {
            i += 1;
            continue;
        } else if c.is_ascii_alphabetic() || c == '_' {
            i = word(i);
            Kind::Ident(text[start..i].into())
        } else if c.is_ascii_digit() {
            i = word(i);
            Kind::Literal(text[start..i].into())
        } else if c == '"' {
            i = start + 1 + text[start + 1..].find('"').expect("closed string") + 1;
            Kind::Literal(text[start..i].into())
        } else if let Some(close) = match c {
            '(' => Some((')', Delim::Paren)),
            '[' => Some((']', Delim::Bracket)),
            '{' => Some(('}', Delim::Brace)),
            _ => None,
        } {
            let (close, delim) = close;
            let mut depth = 0;
            loop {
                match bytes[i] as char {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' => depth -= 1,
                    _ => {}
                }
                i += 1;
                if depth == 0 {
                    break;
                }
            }
            assert_eq!(bytes[i - 1] as char, close, "balanced groups in {text:?}");
            Kind::Group(delim, text[start + 1..i - 1].trim().into())
        } else {
            i += 1;
            Kind::Punct(c)
        };
        tokens.push(Lexed { kind, at: start });
    }
    tokens
}

fn options(args: &str) -> Result<Options, Error<usize>> {
    parse_options(&lex(args))
}

fn shape(which: Macro, item: &str) -> Result<FnShape, Error<usize>> {
    parse_fn(&lex(item), which, usize::MAX)
}

/// Asserts that the error contains `needle` and points at the first occurrence of `at` in
/// `source`.
fn assert_error<T: std::fmt::Debug>(result: Result<T, Error<usize>>, source: &str, at: &str, needle: &str) {
    let error = result.expect_err("an error");
    assert!(error.message.contains(needle), "{:?} does not contain {needle:?}", error.message);
    assert_eq!(error.span, source.find(at).expect("`at` in source"), "{:?}", error.message);
}

#[test]
fn no_options_mean_the_defaults() {
    assert_eq!(options(""), Ok(Options::default()));
}

#[test]
fn both_options_in_any_order_with_an_optional_trailing_comma() {
    let expected = Options { worker_threads: Some(4), paused_clock: true };
    assert_eq!(options("worker_threads = 4, paused_clock"), Ok(expected));
    assert_eq!(options("paused_clock, worker_threads = 4,"), Ok(expected));
    assert_eq!(
        options("worker_threads = 1_000usize"),
        Ok(Options { worker_threads: Some(1000), paused_clock: false })
    );
    assert_eq!(options("worker_threads = 0"), Ok(Options { worker_threads: Some(0), paused_clock: false }));
}

#[test]
fn an_unknown_option_is_named_with_the_valid_ones() {
    let args = "paused_clock, threads = 2";
    assert_error(
        options(args),
        args,
        "threads",
        "unknown option `threads`: expected `worker_threads = N` or `paused_clock`",
    );
    assert_error(
        options("\"x\""),
        "\"x\"",
        "\"x\"",
        "expected `worker_threads = N` or `paused_clock`, found `\"x\"`",
    );
}

#[test]
fn a_worker_count_that_is_not_a_usize_literal_is_refused_at_the_value() {
    for args in [
        "worker_threads = \"4\"",
        "worker_threads = x",
        "worker_threads = 4u8",
        "worker_threads = 4e3",
        "worker_threads = -1",
    ] {
        let value = args.find("= ").unwrap() + 2;
        assert_error(options(args), args, &args[value..value + 1], "`worker_threads` takes a usize literal");
    }
    let args = "worker_threads = 99999999999999999999999";
    assert_error(options(args), args, "9", "is too large for a usize");
}

#[test]
fn a_missing_or_superfluous_value_is_refused() {
    assert_error(
        options("worker_threads"),
        "worker_threads",
        "worker_threads",
        "`worker_threads` needs a value",
    );
    assert_error(options("worker_threads ="), "worker_threads =", "=", "`worker_threads =` needs a value");
    assert_error(options("paused_clock = true"), "paused_clock = true", "=", "`paused_clock` takes no value");
}

#[test]
fn options_given_twice_or_without_commas_are_refused() {
    let args = "worker_threads = 1, worker_threads = 2";
    let second = "worker_threads = 2";
    let error = options(args).unwrap_err();
    assert_eq!(
        (error.span, error.message.as_str()),
        (args.find(second).unwrap(), "`worker_threads` is given twice")
    );
    let error = options("paused_clock, paused_clock").unwrap_err();
    assert_eq!((error.span, error.message.as_str()), (14, "`paused_clock` is given twice"));
    assert_error(
        options("paused_clock worker_threads = 1"),
        "paused_clock worker_threads = 1",
        "worker_threads",
        "expected `,` between options",
    );
}

#[test]
fn an_async_fn_is_split_into_its_parts() {
    let item =
        "#[doc = \"x\"] #[should_panic] pub(crate) async fn name() -> Result<(), Box<dyn Error>> { body }";
    let tokens = lex(item);
    let shape = shape(Macro::Test, item).unwrap();
    let kinds =
        |range: std::ops::Range<usize>| tokens[range].iter().map(|t| t.kind.clone()).collect::<Vec<_>>();
    assert_eq!(shape.before_async, 0..6, "two attributes, `pub`, `(crate)`");
    assert_eq!(
        kinds(shape.signature.clone()),
        [Kind::Ident("fn".into()), Kind::Ident("name".into()), Kind::Group(Delim::Paren, String::new())]
    );
    assert_eq!(tokens[shape.output.start].kind, Kind::Ident("Result".into()));
    assert_eq!(shape.output.end, shape.body);
    assert_eq!(tokens[shape.body].kind, Kind::Group(Delim::Brace, "body".into()));

    let plain = super::parse_fn(&lex("async fn main() {}"), Macro::Main, 0).unwrap();
    assert!(plain.before_async.is_empty() && plain.output.is_empty());
}

#[test]
fn a_fn_without_async_is_refused_at_fn() {
    let item = "#[doc = \"x\"] fn main() {}";
    assert_error(
        shape(Macro::Main, item),
        item,
        "fn",
        "the `async` keyword is missing from the function declaration",
    );
}

#[test]
fn arguments_are_refused_at_the_parameter_list() {
    let item = "async fn main(args: Vec<String>) {}";
    assert_error(
        shape(Macro::Main, item),
        item,
        "(",
        "`main` cannot take arguments: #[reactor_epoll::main] calls it with none",
    );
    let item = "async fn check(x: u8) {}";
    assert_error(
        shape(Macro::Test, item),
        item,
        "(",
        "`check` cannot take arguments: a test is called with none",
    );
}

#[test]
fn generics_and_where_clauses_are_refused() {
    let item = "async fn check<T: Default>() {}";
    assert_error(shape(Macro::Test, item), item, "<", "#[reactor_epoll::test] functions cannot be generic");
    let item = "async fn main() -> u8 where u8: Copy { 0 }";
    assert_error(
        shape(Macro::Main, item),
        item,
        "where",
        "#[reactor_epoll::main] functions cannot be generic",
    );
}

#[test]
fn a_second_test_attribute_is_refused() {
    let item = "#[should_panic] #[test] async fn check() {}";
    assert_error(shape(Macro::Test, item), item, "#[test]", "a second `#[test]`");
    // `main` has no such rule: `#[test]` there is the user's business.
    assert!(shape(Macro::Main, item).is_ok());
}

#[test]
fn things_that_are_not_functions_are_refused() {
    let item = "struct S;";
    assert_error(shape(Macro::Main, item), item, "struct", "#[reactor_epoll::main] goes on an `async fn`");
    let item = "async fn main();";
    assert_error(shape(Macro::Main, item), item, "fn", "needs the function's body");
    let item = "async fn main() - u8 {}";
    assert_error(shape(Macro::Main, item), item, "-", "expected `->` or the function's body");
}
