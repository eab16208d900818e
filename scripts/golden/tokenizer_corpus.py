"""The tokenizer parity corpus: >= 300 strings that stress pre-tokenization,
BPE merges, special-token text and UTF-8 edge cases.

Deterministic (hand-written strings plus combinations drawn from a fixed-seed
random.Random), so gen_tokenizer_golden.py always writes the same corpus.
Every string is valid UTF-8 (JSON cannot carry anything else).
"""

import random

ENGLISH = [
    "Hello world",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "the quick brown fox",
    "A",
    "a",
    "I",
    " I",
    "Hello",
    " Hello",
    "  Hello",
    "Hello ",
    "Hello  ",
    "   leading and trailing   ",
    "What is the capital of France? Paris is the capital of France.",
    "Once upon a time, in a land far, far away, there lived a small dragon named Ember.",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "e-mail: john.doe@example.com, web: https://example.org/path?q=1&r=two#frag",
    "Mr. O'Neil's dog didn't bark; Ms. D'Angelo's cat did.",
    "rock 'n' roll",
    "'quoted' and \"double quoted\" and `backticks`",
    "...ellipsis... and --dashes-- and ___underscores___",
    "!!!???!!!",
    "(parentheses) [brackets] {braces} <angles>",
    "Price: $19.99 (was $24.50) - save 20%!",
    "C'est la vie; déjà vu; naïve café; Über; façade; jalapeño",
    "Straße, Größe, Maß, fünf, schön",
    "ﬁ ligature and ﬂ ligature",
    "camelCaseWordsAndPascalCase and snake_case_words and SCREAMING_CASE",
    "HTTPServerError XMLHttpRequest iPhone eBay",
    "Dr. Smith, Ph.D., M.D., arrived at 5 p.m. on Jan. 3rd.",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",
    "hello\nworld",
    "hello\n\nworld",
    "Line one.\nLine two.\r\nLine three.\rLine four.",
    "1. First\n2. Second\n3. Third",
    "- bullet\n- another bullet\n  - nested bullet",
    "# Heading\n\nSome **bold** and _italic_ text with a [link](http://x.y).",
    "| a | b |\n|---|---|\n| 1 | 2 |",
]

CODE = [
    "def foo(x):\n    return x * 2\n",
    "def fib(n):\n\tif n < 2:\n\t\treturn n\n\treturn fib(n - 1) + fib(n - 2)\n",
    "for i in range(10):\n    print(i, end=' ')\n",
    "class Foo(Bar):\n    \"\"\"Docstring.\"\"\"\n\n    def __init__(self):\n        super().__init__()\n",
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)\n",
    "#include <iostream>\nint main() {\n  std::cout << \"hi\" << std::endl;\n  return 0;\n}\n",
    "template <typename T>\nT max(T a, T b) { return a > b ? a : b; }",
    "std::vector<std::pair<int, std::string>> v{{1, \"a\"}, {2, \"b\"}};",
    "if (x != nullptr && x->y >= 0) { x->y <<= 2; } else { z ^= ~w; }",
    "const f = async (a, b) => { await g(a ?? b); return a?.c || b; };",
    "function add(a, b) {\n  return a + b;\n}\nconsole.log(add(1, 2));",
    "{\"name\": \"nucleus\", \"version\": \"0.1.0\", \"tags\": [\"llm\", \"c++\"], \"n\": 42}",
    "SELECT id, name FROM users WHERE age >= 21 AND name LIKE '%son' ORDER BY id DESC;",
    "#!/bin/bash\nset -euo pipefail\nfor f in *.txt; do echo \"$f\"; done\n",
    "git commit -m \"fix: handle empty input\" && git push origin main",
    "<div class=\"row\"><span id='x'>Hi</span></div>",
    "fn main() { let v: Vec<u32> = (0..10).collect(); println!(\"{:?}\", v); }",
    "x = [i**2 for i in range(100) if i % 3 == 0]",
    "a+=1;b-=2;c*=3;d/=4;e%=5;f&=6;g|=7;h^=8;",
    "    indented with four spaces\n        and eight\n\t\tand two tabs",
    "key:\n  - item1\n  - item2\nother: {a: 1, b: [2, 3]}",
    "0x1F 0b1010 0o755 1e-9 3.14159f 1'000'000 0xDEADBEEF",
    "// comment\n/* block\n   comment */\n",
    "regex = r\"^(?:[a-z0-9]+\\.)*[a-z]{2,}$\"",
    "path = \"C:\\\\Users\\\\name\\\\file.txt\"",
    "@decorator\ndef f(*args, **kwargs) -> None: ...",
    "printf(\"%d %s %5.2f\\n\", n, s, x);",
    "<?php echo $var; ?>",
    "\\begin{equation} E = mc^2 \\end{equation}",
    "$$\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}$$",
]

WORLD = [
    "你好，世界！",
    "我爱北京天安门。",
    "机器学习是人工智能的一个分支。",
    "中文和English混合的句子。",
    "今天天气很好，我们去公园散步吧。",
    "繁體中文與简体中文",
    "こんにちは世界",
    "日本語のテキストです。カタカナとひらがなと漢字。",
    "東京は日本の首都です。",
    "ｶﾀｶﾅ半角",
    "안녕하세요 세계",
    "한국어 텍스트입니다. 토크나이저 테스트.",
    "مرحبا بالعالم",
    "اللغة العربية جميلة جداً.",
    "السلام عليكم ورحمة الله",
    "שלום עולם",
    "नमस्ते दुनिया",
    "हिन्दी भाषा में एक वाक्य।",
    "Привет, мир!",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Γειά σου Κόσμε",
    "สวัสดีชาวโลก",
    "Xin chào thế giới",
    "Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ",
    "Zażółć gęślą jaźń",
    "Příliš žluťoučký kůň úpěl ďábelské ódy",
    "Ελληνικά και English και 中文",
    "ქართული ენა",
    "Հայերեն",
    "አማርኛ",
    "தமிழ்",
    "বাংলা ভাষা",
    "ᚠᚢᚦᚨᚱᚲ",
    "Türkçe: ığüşöç İIıi",
    "Ünïcödé ñ ç ø å æ œ ß",
]

EMOJI = [
    "😀",
    "Hello 😀 world",
    "😀😃😄😁😆",
    "👍🏽",
    "👍🏻👍🏼👍🏽👍🏾👍🏿",
    "👨‍👩‍👧‍👦",
    "👩‍💻 writes code",
    "🏳️‍🌈",
    "🏴‍☠️",
    "❤️",
    "❤️‍🔥",
    "🇺🇸🇬🇧🇫🇷🇯🇵",
    "1️⃣ 2️⃣ #️⃣",
    "🧑🏾‍🤝‍🧑🏻",
    "I ❤ NY",
    "☃ ★ ☆ ✓ ✗ ♠ ♣ ♥ ♦",
    "emoji at end 🎉",
    "🎉 emoji at start",
    "mid🎉dle",
    "🤖🤖🤖🤖🤖🤖🤖🤖",
    "👁️‍🗨️",
    "🐕‍🦺 and 🐈‍⬛",
    "🫠🫶🪿",
    "text🙂text🙃text",
    "©®™",
]

WHITESPACE = [
    " ",
    "  ",
    "   ",
    "    ",
    " " * 8,
    " " * 16,
    " " * 33,
    "\t",
    "\t\t",
    "\n",
    "\n\n",
    "\n\n\n\n",
    "\r\n",
    "\r\n\r\n",
    " \n ",
    "\t \n \t",
    "a\tb\tc",
    "a \t b",
    "a\n\tb",
    "a  b   c    d     e",
    "word" + " " * 20 + "word",
    "x\n" + " " * 7 + "y",
    "trailing newline\n",
    "\nleading newline",
    "  \n  \n  ",
    " \t\n\r\x0b\x0c",
    "no\u00a0break\u00a0space",
    "ideographic\u3000space",
    "line\u2028separator\u2029paragraph",
    "next\u0085line",
    "thin\u2009space and hair\u200aspace",
    "en\u2002em\u2003spaces",
    "ogham\u1680space",
    "tab\t\tthen  spaces\n\n\nthen newlines",
    "   \t   \t   ",
    "\n \n \n",
    "a \n b",
    "!\n!",
]

DIGITS = [
    "0",
    "1",
    "12",
    "123",
    "1234",
    "12345",
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "1234567890",
    "12345678901234567890",
    "3.14159265358979323846",
    "-42",
    "+7",
    "1,000,000",
    "1.000.000,50",
    "2024-01-15",
    "12:34:56",
    "+1 (555) 123-4567",
    "version 1.2.3-rc4",
    "abc123def456",
    "123abc",
    "abc 123",
    " 123",
    "1 2 3 4 5",
    "0.1 + 0.2 = 0.30000000000000004",
    "1e10 2E-5",
    "٠١٢٣٤٥٦٧٨٩",
    "०१२३४५६७८९",
    "１２３４５",
    "²³¹ ½ ¾ Ⅻ ⅷ",
    "Room 101, Floor 7",
    "$100 and 50%",
    "2^32 = 4294967296",
    "9" * 50,
]

CONTRACTIONS = [
    "it's",
    "don't",
    "we're",
    "I've",
    "I'm",
    "you'll",
    "he'd",
    "IT'S",
    "DON'T",
    "WE'RE",
    "I'VE",
    "I'M",
    "YOU'LL",
    "HE'D",
    "John'S",
    "it’s curly",
    "'s",
    "'t 're 've 'm 'll 'd",
    "''s",
    "s's't",
    "rock'n'roll",
    "'tis the season",
    "y'all'd've",
    "O'Reilly's book's cover",
    "She said: 'I'll go' and he'd agree.",
]

CONTROL = [
    "\x00",
    "a\x00b",
    "\x01\x02\x03",
    "bell\x07",
    "\x1b[31mred\x1b[0m",
    "del\x7f",
    "zero\u200bwidth",
    "\ufeffBOM at start",
    "soft\u00adhyphen",
    "joiner\u200dnon\u200cjoiner",
    "left\u200eright\u200fmarks",
    "\u202eright-to-left override",
    "back\x08space",
    "form\x0cfeed",
    "\x1f\x1e\x1d",
]

SPECIAL_TEXT = [
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n",
    "text before <|im_end|> text after",
    "<|im_start|><|im_end|>",
    "<|im_start",
    "im_start|>",
    "<|im_start|<|im_end|>|>",
    "<repo_name>nucleus<file_sep>main.cc",
    "<jupyter_code>print(1)<jupyter_output>1",
    "<|endoftext|><|endoftext|>",
    " <|im_start|> ",
    "<|IM_START|>",
    "<s></s><unk>",
    "<<|im_end|>>",
    "\n<|im_start|>\n",
    "Hello <|im_end|>",
    "plain text, no special tokens",
]

EDGE = [
    "",
    "e\u0301",
    "Z\u0351\u0352\u0353a\u0354\u0355l\u0356g\u0357o",
    "\uffff\ufffe",
    "\U0010ffff",
    "\ue000\uf8ff",
    "\U000f0000",
    "\ufffd",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝",
    "ﾟ･✿ヾ╲(｡◕‿◕｡)╱✿･ﾟ",
    "¯\\_(ツ)_/¯",
    "(╯°□°)╯︵ ┻━┻",
    "a\ufe0fb",
    "\U0001f1e6",
    "𐍈 gothic",
    "ÅÅ",
    "ﷺ",
    "\u0300starts with combining",
    "x" * 300,
    "ab" * 150,
    "Ä",
    "ÿ",
    "\u00ff\u0100\u0101",
    "Ġhello",
    "Ċ",
    "▁spm▁space",
    "<0x41>",
]


def _random_strings(count, seed):
    """Mixes pieces of every category so boundaries between classes get tested."""
    rng = random.Random(seed)
    pool = ENGLISH + CODE + WORLD + EMOJI + WHITESPACE + DIGITS + CONTRACTIONS + CONTROL + EDGE
    atoms = [
        "a", "Z", "é", "中", "あ", "한", "ب", "😀", "👨‍👩‍👧", "1", "42", "٣", " ", "  ", "\t", "\n", "\r\n",
        "'s", "'LL", "'", "\"", "!", "?", ".", ",", "-", "_", "(", ")", "<", ">", "|", "#", "$", "\u200b", "\u00a0",
        "\u0301", "🏽", "ﬁ", "Ⅻ", "²", "\u3000",
    ]
    out = []
    for i in range(count):
        if i % 2 == 0:
            a, b = rng.sample(pool, 2)
            cut_a = rng.randint(0, len(a))
            cut_b = rng.randint(0, len(b))
            out.append(a[:cut_a] + rng.choice(atoms) + b[cut_b:])
        else:
            out.append("".join(rng.choice(atoms) for _ in range(rng.randint(1, 24))))
    return out


def corpus():
    """The corpus, in a fixed order, without duplicates."""
    long_mixed = "\n\n".join(ENGLISH[:10] + CODE[:5] + WORLD[:8] + EMOJI[:6] + DIGITS[:12])
    strings = (ENGLISH + CODE + WORLD + EMOJI + WHITESPACE + DIGITS + CONTRACTIONS + CONTROL + SPECIAL_TEXT + EDGE
               + [long_mixed] + _random_strings(80, seed=20240601))
    seen = set()
    unique = []
    for s in strings:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


def special_text_strings():
    """Strings that are also encoded with special-token parsing on."""
    return list(SPECIAL_TEXT)


if __name__ == "__main__":
    c = corpus()
    print(len(c), "strings")
