"""Small templates, one feature each, for the interpreter's unit tests (tests/text/jinja_snippets_test.cc).

gen_jinja_golden.py renders each with jinja2 (transformers' environment) on CONTEXT and writes what
jinja2 printed, or that it raised, into tests/data/jinja/snippets.json. The ids name the feature.
"""

CONTEXT = {
    "d": {"a": 1, "b": {"c": 2}},
    "l": [1, 2, 3],
    "s": "héllo",
    "n": None,
    "users": [
        {"name": "Ann", "age": 31, "admin": True},
        {"name": "Bob", "age": 25, "admin": False},
        {"name": "Cy", "age": 40},
    ],
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi <there> & \"you\""},
        {"role": "assistant", "content": "Hello!"},
    ],
    "bos_token": "<s>",
    "add_generation_prompt": True,
}

SNIPPETS = [
    # Whitespace: trim_blocks, lstrip_blocks, - and + markers, comments, newlines.
    ("ws_trim_blocks", "{% if true %}\nyes\n{% endif %}\nafter"),
    ("ws_lstrip_blocks", "  {% if true %}\n  x\n  {% endif %}\nend"),
    ("ws_minus_var", "a  {{- 'b' -}}  c"),
    ("ws_minus_block", "a\n  {%- if true -%}\n  b  \n{%- endif %}\nc"),
    ("ws_plus", "  {%+ if true %}x{% endif +%}\ny"),
    ("ws_comments", "a {# c #}\n  {# c2 #}\nb {#- c3 -#} d"),
    ("ws_var_not_lstripped", "  {{ 'x' }}\n  y"),
    ("ws_trailing_newline_dropped", "x\n"),
    ("ws_two_trailing_newlines", "x\n\n"),
    ("ws_crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc"),
    ("ws_raw", "{% raw %}{{ x }} {% if %}{% endraw %}"),
    ("ws_lstrip_not_after_text", "ab  {% if true %}x{% endif %}"),
    ("ws_block_at_line_start_after_tag", "{% if true %}\n    {% if true %}\n    x\n    {% endif %}\n{% endif %}"),
    ("ws_tabs", "\t{% if true %}\n\tx\n\t{% endif %}\n"),
    ("ws_minus_unicode_space", "a\u00a0\u2003{{- 'b' }}"),
    # Literals and how values print.
    ("print_scalars", "{{ 1 }}|{{ 1.0 }}|{{ 1.5e10 }}|{{ 1e20 }}|{{ 0.1 }}|{{ -0.0 }}|{{ true }}|{{ none }}|{{ 'a' }}"),
    ("print_containers", "{{ [1, 'a', none, true, 2.5] }}|{{ {'a': 1, 'b': [1]} }}|{{ (1,) }}|{{ (1, 'b') }}|{{ () }}"),
    ("string_escapes", "{{ 'a\\nb\\t\\'c\\'' }}|{{ \"x\\\\y\" }}|{{ '\\u00e9\\x41' }}|{{ 'q\\z' }}"),
    ("string_adjacent", "{{ 'a' 'b' \"c\" }}"),
    ("repr_quotes", "{{ [\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\t', 'é'] }}"),
    ("float_formatting", "{{ 1/3 }}|{{ 2/2 }}|{{ 10/4 }}|{{ 1e16 }}|{{ 123456789012345678.0 }}|{{ 0.0001 }}|{{ 0.00001 }}|"
                         "{{ 3.14159 * 2 }}|{{ 1e15 }}|{{ 2.5e-7 }}|{{ 1_000 }}"),
    ("int_arithmetic", "{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 7 % -3 }}|{{ 2 ** 10 }}|{{ 2 ** -1 }}|"
                       "{{ 2 ** 3 ** 2 }}|{{ 7.5 // 2 }}|{{ -7.5 % 2 }}|{{ 1 + 2 * 3 - 4 / 2 }}|{{ true + 1 }}"),
    ("sequence_ops", "{{ 'ab' * 3 }}|{{ 3 * 'x' }}|{{ [1] * 2 }}|{{ 'a' + 'b' }}|{{ [1] + [2] }}|"
                     "{{ 'a' ~ 1 ~ none ~ true }}|{{ 'x' * 0 }}"),
    ("comparisons", "{{ 1 == 1.0 }}{{ true == 1 }}{{ 'a' < 'b' }}{{ [1, 2] < [1, 3] }}{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}"
                    "{{ 'a' != 'b' }}{{ none == none }}{{ 2 >= 2.0 }}{{ {'a': 1} == {'a': 1} }}"),
    ("membership", "{{ 'a' in 'cat' }}{{ 2 in [1, 2] }}{{ 'k' in {'k': 1} }}{{ 'x' not in 'abc' }}{{ 3 not in l }}"),
    ("logic_returns_operands", "{{ 0 or 'x' }}|{{ 'a' and 'b' }}|{{ '' and 'b' }}|{{ not 0 }}|{{ none or [] }}"),
    ("conditional_expr", "{{ 'y' if true else 'n' }}|{{ 'y' if false else 'n' }}|{{ 'y' if false }}|"
                         "{{ 1 if 0 else 2 if 1 else 3 }}"),
    ("unary", "{{ -3 }}|{{ -(2 + 3) }}|{{ +4 }}|{{ -3|abs }}|{{ not true }}|{{ - 2 ** 2 }}"),
    ("truthiness", "{% for v in [0, 1, '', 'a', [], [0], {}, {'a': 1}, none, 0.0, x] %}{{ 'T' if v else 'F' }}{% endfor %}"),
    ("precedence_filter_vs_ops", "{{ 1 ~ 2|string }}|{{ 1 + 2|int }}|{{ -1|abs }}|{{ 'a' ~ 'b'|upper }}|{{ not 'x' is string }}"),
    # Attributes, subscripts, slices, undefined.
    ("getattr_getitem", "{{ d.a }}|{{ d['b'].c }}|{{ d.missing }}|{{ l[0] }}|{{ l[-1] }}|{{ l[10] }}|{{ l.1 }}|{{ s[1] }}"),
    ("slicing", "{{ l[1:] }}|{{ l[:-1] }}|{{ l[::-1] }}|{{ l[::2] }}|{{ s[1:3] }}|{{ s[-2:] }}|{{ s[::-1] }}|{{ l[5:] }}|"
                "{{ l[-10:2] }}"),
    ("undefined_soft_uses", "[{{ x }}]{{ x is defined }}{{ x|default('d') }}{% for i in x %}{{ i }}{% endfor %}"
                            "{{ x|length }}{% if x %}y{% else %}n{% endif %}{{ x == x }}{{ 'a' in x }}{{ x|upper }}"),
    ("undefined_attr_raises", "{{ x.y }}"),
    ("undefined_add_raises", "{{ x + 1 }}"),
    ("undefined_call_raises", "{{ x() }}"),
    ("none_attr_is_undefined", "{{ n.foo }}|{{ n.foo is defined }}|{{ n['k'] is defined }}"),
    ("missing_key_then_attr", "{{ d.missing is defined }}|{{ d.b.missing is defined }}"),
    # Statements.
    ("if_elif_else", "{% for i in range(4) %}{% if i == 0 %}zero{% elif i == 1 %}one{% elif i == 2 %}two{% else %}"
                     "many{% endif %},{% endfor %}"),
    ("for_loop_variables", "{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
                           "{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}"
                           "{{ loop.nextitem }};{% endfor %}"),
    ("for_loop_cycle", "{% for x in range(5) %}{{ loop.cycle('a', 'b') }}{% endfor %}"),
    ("for_with_filter", "{% for x in range(10) if x is odd %}{{ x }}{{ loop.index }}{{ loop.last }},{% endfor %}"),
    ("for_else", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}|{% for x in [1] %}{{ x }}{% else %}e{% endfor %}"),
    ("for_unpack_items", "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"),
    ("for_dict_keys_in_order", "{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}"),
    ("for_string_chars", "{% for c in 'héy' %}[{{ c }}]{% endfor %}"),
    ("for_nested_loop_vars", "{% for a in [1, 2] %}{% for b in [3, 4] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}"
                             "{{ loop.index }}|{% endfor %}"),
    ("break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}"
                       "{% endif %}{{ i }}{% endfor %}"),
    ("set_in_loop_does_not_leak", "{% set x = 1 %}{% for i in range(3) %}{{ x }}{% set x = x + 10 %}{{ x }},"
                                  "{% endfor %}{{ x }}"),
    ("set_in_if_leaks", "{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}"),
    ("namespace_counter", "{% set ns = namespace(count=0, found=false) %}{% for i in range(4) %}"
                          "{% set ns.count = ns.count + i %}{% if i == 2 %}{% set ns.found = true %}{% endif %}"
                          "{% endfor %}{{ ns.count }}{{ ns.found }}"),
    ("namespace_from_dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{{ ns.c is defined }}"),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, 2 %}{{ t }}{% set (c, e) = 'xy' %}{{ c }}{{ e }}"),
    ("set_block", "{% set x %}hello {{ 'world' }}{% endset %}[{{ x }}]{% set y | upper %}shout{% endset %}{{ y }}"),
    ("macro_defaults_and_kwargs", "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}"
                                  "{{ greet('A') }} {{ greet('B', 'Hi') }} {{ greet(greeting='Yo', name='C') }} "
                                  "[{{ greet() }}]"),
    ("macro_varargs_kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}"),
    ("macro_sees_globals_at_call", "{% macro m() %}{{ y }}{% endmacro %}{% set y = 5 %}{{ m() }}{% set y = 6 %}"
                                   "{{ m() }}"),
    ("macro_default_uses_arg", "{% macro m(a, b=a * 2) %}{{ a }},{{ b }}{% endmacro %}{{ m(3) }}"),
    ("macro_recursion", "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5) }}"),
    ("macro_whitespace", "{% macro m(x) %}\n  [{{ x }}]\n{% endmacro %}\n{{ m(1) }}{{ m(2) }}"),
    ("call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}"
                   "{% call wrap('b') %}bold {{ 1 + 1 }}{% endcall %}"),
    ("call_block_with_args", "{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}"
                             "{% call(x) each([1, 2]) %}[{{ x }}]{% endcall %}"),
    ("filter_block", "{% filter upper %}hello {{ 'world' }}{% endfilter %}|{% filter replace('a', 'o') %}banana"
                     "{% endfilter %}"),
    ("generation_block", "A{% generation %}assistant {{ 'text' }}{% endgeneration %}B"),
    ("chatml_loop", "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
                    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"),
    ("chatml_loop_blocks", "{% for m in messages %}\n{% if m.role == 'system' %}\n[SYS] {{ m.content }}\n{% else %}\n"
                           "{{ m.role | upper }}: {{ m.content | trim }}\n{% endif %}\n{% endfor %}"),
    # Errors.
    ("raise_exception", "{{ raise_exception('Bad role: ' ~ 'x') }}"),
    ("raise_exception_in_macro", "{% macro check(r) %}{% if r != 'user' %}{{ raise_exception('Only user, got ' + r) }}"
                                 "{% endif %}{% endmacro %}{{ check('user') }}{{ check('tool') }}"),
    ("macro_too_many_args", "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}"),
    ("macro_unknown_kwarg", "{% macro m(a) %}{% endmacro %}{{ m(b=2) }}"),
    ("unknown_filter", "{{ 1 | nosuch }}"),
    ("unknown_filter_in_if_is_lazy", "{% if false %}{{ 1 | nosuch }}{% endif %}ok"),
    ("unknown_filter_in_if_runs", "{% if true %}{{ 1 | nosuch }}{% endif %}ok"),
    ("unknown_test", "{{ 1 is nosuch }}"),
    ("unknown_tag", "{% do x %}"),
    ("unclosed_block", "{% if true %}x"),
    ("unclosed_variable", "{{ x "),
    ("bad_expression", "{{ 1 + }}"),
    ("list_append_refused", "{% set l = [] %}{{ l.append(1) }}"),
    ("dict_update_refused", "{% set e = {} %}{{ e.update({'a': 1}) }}"),
    ("namespace_underscore_refused", "{% set ns = namespace() %}{% set ns._x = 1 %}"),
    ("set_attr_on_dict_refused", "{% set e = {} %}{% set e.x = 1 %}"),
    ("iterate_none", "{% for x in none %}{% endfor %}"),
    ("iterate_int", "{% for x in 3 %}{% endfor %}"),
    ("str_plus_list", "{{ 'a' + [1] }}"),
    ("str_plus_int", "{{ 'a' + 1 }}"),
    ("compare_str_int", "{{ 'a' < 1 }}"),
    ("range_too_big", "{{ range(200000)|length }}"),
    ("division_by_zero", "{{ 1 / 0 }}"),
    ("plus_int_str", "{{ 1 + 2|string }}"),
    ("unpack_mismatch", "{% for a, b in [[1, 2, 3]] %}{% endfor %}"),
    # Methods.
    ("str_strip_split", "{{ '  x y  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a  '.rstrip() }}|"
                        "{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|"
                        "{{ 'a,b,c'.rsplit(',', 1) }}|{{ 'a\\nb\\r\\nc'.splitlines() }}|{{ '\\u3000x\\u00a0'.strip() }}"),
    ("str_predicates", "{{ 'Hello'.startswith('He') }}{{ 'Hello'.endswith(('x', 'lo')) }}{{ '12'.isdigit() }}"
                       "{{ 'ab'.isalpha() }}{{ ' '.isspace() }}{{ 'AB'.isupper() }}{{ 'ab'.islower() }}"),
    ("str_case", "{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}|{{ 'aXb'.upper() }}{{ 'aXb'.lower() }}|"
                 "{{ 'éÀ'.upper() }}{{ 'ÉÀ'.lower() }}|{{ \"they're 1st\".title() }}"),
    ("str_replace_find", "{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'hello'.find('l') }}|{{ 'héllo'.find('l') }}|"
                         "{{ 'hello'.find('z') }}|{{ 'hello'.count('l') }}|{{ '-'.join(['a', 'b']) }}|"
                         "{{ 'ab'.replace('', '.') }}"),
    ("str_format", "{{ '{}|{}'.format(1, 'a') }}|{{ '{1}{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='x') }}|"
                   "{{ '{:>5}|{:<5}|{:^5}'.format('a', 'b', 'c') }}|{{ '{:05d}|{:.2f}'.format(42, 3.14159) }}|"
                   "{{ '{{}}{!r}'.format('q') }}|{{ '<x{}>'.format(1.5) }}"),
    ("percent_format", "{{ '%s-%d' % ('x', 3) }}|{{ '%s' % 'y' }}|{{ '%.2f%%' % 12.345 }}"),
    ("dict_methods", "{{ d.get('a') }}|{{ d.get('z') }}|{{ d.get('z', 0) }}|{{ d.keys()|list }}|"
                     "{{ d.values()|list }}|{{ d.items()|list }}|{{ d['get'] is defined }}"),
    ("list_methods", "{{ [1, 2, 1].count(1) }}{{ [1, 2].index(2) }}"),
    # Tests.
    ("tests_types", "{{ 1 is number }}{{ 1.5 is float }}{{ 1 is integer }}{{ true is integer }}{{ true is boolean }}"
                    "{{ 'a' is string }}{{ {} is mapping }}{{ [] is sequence }}{{ 'a' is iterable }}{{ 1 is iterable }}"
                    "{{ none is none }}{{ x is undefined }}{{ range is callable }}{{ true is true }}{{ 0 is false }}"
                    "{{ true is number }}{{ x is iterable }}{{ {} is sequence }}{{ 1.0 is integer }}"),
    ("tests_comparisons", "{{ 2 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}"
                          "{{ 1 is eq 1 }}{{ 1 is ne 2 }}{{ 1 is lt 2 }}{{ 2 is gt 1 }}{{ 1 is ge 1 }}{{ 1 is le 0 }}"
                          "{{ 2 is in [1, 2] }}{{ 'a' is equalto 'a' }}{{ none is sameas none }}{{ 'abc' is lower }}"
                          "{{ 'ABC' is upper }}{{ 'upper' is filter }}{{ 'odd' is test }}"),
    ("tests_negated", "{{ 1 is not string }}{{ x is not defined }}{{ none is not none }}"),
    # Filters.
    ("tojson", "{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ 'é<>&\"\\n'|tojson }}|{{ [1, 2.0, none, true]|tojson }}|"
               "{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}|{{ 'é😀'|tojson(ensure_ascii=true) }}|"
               "{{ d|tojson(separators=(',', ':')) }}|{{ {}|tojson(indent=2) }}|{{ [[]]|tojson(indent='\\t') }}|"
               "{{ 1e20|tojson }}|{{ {1: 'int key', none: 2}|tojson }}|{{ (1, 2)|tojson }}"),
    ("tojson_generator_raises", "{{ [1, 2]|map('string')|tojson }}"),
    ("tojson_undefined_raises", "{{ x|tojson }}"),
    ("trim_length", "[{{ '  x  '|trim }}]{{ 'héllo'|length }}{{ [1, 2]|count }}{{ {'a': 1}|length }}"
                    "{{ 'xxaxx'|trim('x') }}{{ none|string|length }}"),
    ("join", "{{ [1, 2, 3]|join(', ') }}|{{ users|join(', ', attribute='name') }}|{{ 'abc'|join('-') }}|{{ []|join }}"),
    ("map", "{{ users|map(attribute='name')|list }}|{{ ['a', 'b']|map('upper')|join }}|"
            "{{ users|map(attribute='admin', default='?')|list }}|{{ [' a ']|map('trim')|list }}|"
            "{{ [1, 2]|map('string')|join(',') }}|{{ none|map('upper')|list }}"),
    ("select_reject", "{{ [1, 2, 3, 4]|select('odd')|list }}|{{ [1, 2, 3, 4]|reject('even')|list }}|"
                      "{{ [0, 1, '', none, 'a']|select|list }}|{{ users|selectattr('admin')|map(attribute='name')|list }}|"
                      "{{ users|rejectattr('admin')|list|length }}|"
                      "{{ users|selectattr('name', 'equalto', 'Bob')|list|length }}|{{ [1, 5, 10]|select('gt', 3)|list }}|"
                      "{{ users|selectattr('admin', 'defined')|list|length }}"),
    ("default", "{{ x|default('d') }}|{{ none|default('d') }}|{{ ''|default('d') }}|{{ ''|default('d', true) }}|"
                "{{ x|d('dd') }}|{{ 0|default(5, boolean=true) }}"),
    ("first_last", "{{ [1, 2, 3]|first }}{{ [1, 2, 3]|last }}{{ 'abc'|first }}{{ 'abc'|last }}[{{ []|first }}]"),
    ("replace", "{{ 'aaa'|replace('a', 'b') }}|{{ 'aaa'|replace('a', 'b', 1) }}|{{ 123|replace('2', 'x') }}"),
    ("round", "{{ 2.5|round }}|{{ 3.5|round }}|{{ 2.675|round(2) }}|{{ 3|round }}|{{ 2.1|round(0, 'ceil') }}|"
              "{{ 2.9|round(method='floor') }}|{{ -1.5|round }}|{{ 1234.5678|round(-2) }}|{{ 0.125|round(2) }}"),
    ("case_filters", "{{ 'hello world'|upper }}|{{ 'HeLLo'|lower }}|{{ \"hello they're-here (x)\"|title }}|"
                     "{{ 'hELLO wORLD'|capitalize }}|{{ none|upper }}"),
    ("conversions", "{{ 1|string }}|{{ '42'|int + 1 }}|{{ '4.7'|int }}|{{ 'x'|int }}|{{ 'x'|int(7) }}|{{ 3.9|int }}|"
                    "{{ '1.5'|float }}|{{ 2|float }}|{{ 'a'|float }}|{{ true|int }}|{{ ' 12 '|int }}|{{ -3.9|int }}|"
                    "{{ '0x1A'|int(0, 16) }}|{{ none|int }}"),
    ("list_items", "{{ 'ab'|list }}|{{ {'a': 1}|list }}|{{ {'a': 1, 'b': 2}|items|list }}|{{ (1, 2)|list }}|"
                   "{{ x|items|list }}"),
    ("items_of_list_raises", "{{ [1]|items|list }}"),
    ("dictsort", "{{ {'b': 1, 'A': 2, 'c': 0}|dictsort }}|{{ {'b': 1, 'A': 2}|dictsort(true) }}|"
                 "{{ {'b': 1, 'a': 2}|dictsort(by='value') }}|{{ {'b': 1, 'a': 2}|dictsort(reverse=true) }}"),
    ("unique_reverse_sort", "{{ [1, 2, 1, 3]|unique|list }}|{{ ['a', 'A', 'b']|unique|list }}|"
                            "{{ [1, 2, 3]|reverse|list }}|{{ 'abc'|reverse }}|{{ [3, 1, 2]|sort }}|"
                            "{{ [3, 1, 2]|sort(reverse=true) }}|{{ ['b', 'A', 'c']|sort }}|"
                            "{{ ['b', 'A', 'c']|sort(case_sensitive=true) }}|"
                            "{{ users|sort(attribute='age')|map(attribute='name')|join(',') }}"),
    ("indent", "{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|"
               "{{ 'a\\nb'|indent('> ') }}|{{ 'a\\n'|indent(1) }}"),
    ("safe_and_escape", "{{ '<b>'|safe }}|{{ '<b>&\"\\''|escape }}|{{ '<a>'|e }}|{{ '<x>'|safe + '<y>' }}|"
                        "{{ 'p' ~ '<q>'|safe }}|{{ '&'|safe|upper + '&' }}|{{ 'a' + '<'|safe }}"),
    ("numeric_filters", "{{ -3|abs }}|{{ -2.5|abs }}|{{ [1, 2, 3]|sum }}|{{ users|sum(attribute='age') }}|"
                        "{{ [3, 1, 2]|min }}|{{ [3, 1, 2]|max }}|{{ ['b', 'A']|min }}|"
                        "{{ (users|max(attribute='age')).name }}|[{{ {'a': 1}|attr('a') }}]|{{ [0.5, 1]|sum(start=1) }}"),
    ("batch_and_misc", "{{ [1, 2, 3, 4, 5]|batch(2)|list }}|{{ [1, 2, 3]|batch(2, 'x')|list }}|"
                       "{{ 'a b c'|wordcount }}|[{{ 'ab'|center(7) }}]|{{ '%s-%d'|format('x', 3) }}"),
    # Globals.
    ("range", "{{ range(3)|list }}|{{ range(1, 4)|list }}|{{ range(10, 0, -3)|list }}|{{ range(0)|list }}"),
    ("dict_global", "{{ dict(a=1, b=2) }}|{{ dict([('x', 1)]) }}|{{ dict() }}"),
    ("strftime_now", "{{ strftime_now('%Y-%m-%d %H:%M:%S %A %a %d %b %B %Y %j') }}"),
    ("joiner_cycler", "{% set j = joiner('|') %}{% for x in [1, 2, 3] %}{{ j() }}{{ x }}{% endfor %}"
                      "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}"),
    # Statements, filters and globals added after the QA pass against jinja2.
    ("with_block", "{% set a = 1 %}{% with a = 2, b = a %}{{ a }}{{ b }}{% set c = 3 %}{% endwith %}{{ a }}{{ c }}"
                   "{% with %}x{% endwith %}{% with p, q = (1, 2) %}{{ p }}{{ q }}{% endwith %}"),
    ("for_recursive", "{% for x in [1, [2, [3, 4]], 5] recursive %}{{ loop.depth }}{{ loop.depth0 }}"
                      "{% if x is iterable %}[{{ loop(x) }}]{% else %}{{ x }}{% endif %};{% endfor %}"),
    ("for_recursive_tree", "{% for n in [{'name': 'a', 'kids': [{'name': 'b', 'kids': []}]}, {'name': 'c', 'kids': []}]"
                           " recursive %}{{ n.name }}({{ loop.index }}/{{ loop.depth }}){% if n.kids %}<{{ loop(n.kids) }}>"
                           "{% endif %}{% else %}none{% endfor %}"),
    ("filter_slice", "{{ [1, 2, 3, 4, 5]|slice(3)|list }}|{{ [1, 2]|slice(4, 'x')|list }}|{{ []|slice(2)|list }}|"
                     "{{ 'abcde'|slice(2)|list }}"),
    ("filter_groupby", "{% for g in [{'a': 'X', 'b': 1}, {'a': 'x', 'b': 2}, {'b': 3}]|groupby('a', default='z') %}"
                       "{{ g.grouper }}:{{ g.list|map(attribute='b')|join(',') }};{% endfor %}|"
                       "{% for k, items in [{'t': 'B'}, {'t': 'a'}, {'t': 'b'}]|groupby('t') %}{{ k }}{{ items|length }}"
                       "{% endfor %}|{{ [{'a': 1}]|groupby('a') }}|{{ (users|groupby('age')|first).grouper }}|"
                       "{% for g in [{'t': 'B'}, {'t': 'b'}]|groupby('t', case_sensitive=true) %}{{ g[0] }}{% endfor %}"),
    ("filter_groupby_mixed_keys", "{{ users|groupby('admin', default='?') }}"),
    ("filter_truncate", "{{ 'foo bar baz qux'|truncate(9) }}|{{ 'foo bar baz qux'|truncate(9, true) }}|"
                        "{{ 'foo bar baz qux'|truncate(11) }}|{{ 'foo bar baz qux'|truncate(11, false, '…', 0) }}|"
                        "{{ 'héllo wörld'|truncate(5, leeway=0) }}|{{ 'short'|truncate }}"),
    ("filter_truncate_bad_length", "{{ 'abcdef'|truncate(2) }}"),
    ("filter_wordwrap", "{{ 'The quick brown fox jumps over the lazy dog and a well-known long-winded sentence'"
                        "|wordwrap(20) }}|{{ 'abcdefghijklmnop qr'|wordwrap(5) }}|{{ 'abcdefghij'|wordwrap(4, false) }}|"
                        "{{ 'a b\\n\\nc  d'|wordwrap(3, wrapstring='<br>') }}|{{ 'well-known-thing'|wordwrap(6) }}|"
                        "{{ 'x-y-z-w'|wordwrap(3, break_on_hyphens=false) }}"),
    ("filter_striptags", "{{ '<b>x</b> <!-- c --> &amp; &lt;  y\\n z &#65;&#x42; &nbsp;!'|striptags }}|"
                         "{{ 'a < b'|striptags }}"),
    ("filter_filesizeformat", "{{ 1|filesizeformat }}|{{ 999|filesizeformat }}|{{ 1500|filesizeformat }}|"
                              "{{ 1048576|filesizeformat(true) }}|{{ 1e12|filesizeformat }}|{{ '2048'|filesizeformat(true) }}|"
                              "{{ 0|filesizeformat }}|{{ 1e30|filesizeformat }}"),
    ("filter_urlencode", "{{ 'a b&c/d~é'|urlencode }}|{{ {'a b': 'c&d', 'e': 1}|urlencode }}|"
                         "{{ [('k', 'v w'), ('x', none)]|urlencode }}|{{ 42|urlencode }}"),
    ("filter_xmlattr", "<p{{ {'class': 'x<\"', 'n': none, 'i': 3, 'u': x}|xmlattr }}>|{{ {'a': 1}|xmlattr(false) }}|"
                       "[{{ {}|xmlattr }}]"),
    ("filter_xmlattr_bad_key", "{{ {'a b': 1}|xmlattr }}"),
    ("filter_pprint", "{{ 'x'|pprint }}|{{ {'b': 1, 'a': [1, 2]}|pprint }}|{{ none|pprint }}|{{ (1,)|pprint }}|"
                      "{{ range(30)|list|pprint }}|{{ {'key': range(25)|list, 'other': 'v'}|pprint }}"),
    ("range_repr", "{{ range(3) }}|{{ range(1, 10, 2) }}|{{ range(5, 0, -1) }}|{{ range(3)|list }}|{{ range(3)[1] }}|"
                   "{{ range(3)|length }}"),
    ("cycler_current", "{% set c = cycler('x', 'y') %}{{ c.current }}{{ c.next() }}{{ c.current }}{{ c.next() }}"
                       "{{ c.current }}{{ c.next() }}|{{ c.reset() }}{{ c.current }}"),
    ("map_attribute_missing_is_undefined", "{{ users|map(attribute='admin')|list }}|{{ [d.missing, 1] }}"),
    # str methods and Unicode case mapping (Python's full mappings, special casing, final sigma).
    ("str_partition_pad", "{{ 'a=b=c'.partition('=') }}|{{ 'a=b=c'.rpartition('=') }}|{{ 'abc'.partition('x') }}|"
                          "{{ 'abc'.rpartition('x') }}|{{ '42'.zfill(5) }}|{{ '-42'.zfill(5) }}|[{{ 'ab'.center(7, '*') }}]|"
                          "[{{ 'abc'.center(6) }}]|[{{ 'é'.ljust(3, '.') }}]|[{{ 'x'.rjust(3) }}]|{{ 'abc'.zfill(2) }}"),
    ("str_swapcase_istitle", "{{ 'Hello World'.swapcase() }}|{{ 'straße'.swapcase() }}|{{ 'Hello World'.istitle() }}"
                             "{{ 'Hello world'.istitle() }}{{ ''.istitle() }}{{ 'ǅungla'.istitle() }}{{ 'A1 B'.istitle() }}"),
    ("str_search_ranges", "{{ 'abca'.find('a', 1) }}|{{ 'abca'.find('a', 1, 3) }}|{{ 'abca'.rfind('a', 0, 3) }}|"
                          "{{ 'héllo'.find('l', -2) }}|{{ 'abca'.count('a', 1) }}|{{ 'abca'.index('c', 1, -1) }}|"
                          "{{ 'abc'.find('', 5) }}|{{ 'abc'.count('', 1) }}|{{ 'abc'.startswith('b', 1) }}|"
                          "{{ 'abc'.endswith('b', 0, 2) }}|{{ 'abc'.startswith(('x', 'c'), 2) }}|{{ 'abc'.rindex('b') }}"),
    ("str_index_not_found", "{{ 'abca'.index('a', 1, 3) }}"),
    ("unicode_case", "{{ 'straße'.upper() }}|{{ 'ǅ'.lower() }}|{{ 'ΣΑΣ'.lower() }}|{{ 'ﬁ'.upper() }}|{{ 'ΌΣΟΣ Σ'.lower() }}|"
                     "{{ 'İ'.lower()|length }}|{{ 'ǆemal'.title() }}|{{ 'ǆ'.capitalize() }}|{{ 'ŉ'.upper() }}|"
                     "{{ 'ꞵ Ⴀ ａ'.upper() }}|{{ 'ΑΣ\\'Β'.lower() }}|{{ 'Straße'.casefold() }}|{{ 'ǅ'.isupper() }}"
                     "{{ 'ǅ'.islower() }}|{{ 'ʰ'.islower() }}|{{ 'ΣΑΣ'|lower }}|{{ 'ﬁx'|title }}|{{ 'ßa'|capitalize }}"),
    # printf-style % and str.format's spec mini-language and field access.
    ("percent_format_full", "{{ '%x|%X|%o|%#x|%#o|%#X'|format(255, 255, 8, 255, 8, 0) }}|{{ '%(a)s-%(b)05.1f'|format(a=1, b=2.25) }}|"
                            "{{ '%5s|%-5s|'|format('a', 'b') }}{{ '%.2s|%5.1f|%-6d|%+d|% d|%05d'|format('abc', 3.14159, 42, 5, 5, -42) }}|"
                            "{{ '%e|%E|%g|%G|%.3g'|format(12345.678, 0.00012, 1e-5, 1e20, 2.0) }}|{{ '%r|%c|%c'|format('x', 65, 'é') }}|"
                            "{{ '%*d|%-*s|%.*f'|format(4, 7, 3, 'a', 2, 1.005) }}|{{ '%i|%d|%u'|format(3.9, true, -2) }}|{{ '100%%' % () }}|"
                            "{{ '%s' % {'k': 1} }}|{{ '%(k)s' % {'k': 'v'} }}|{{ '%5.3s|' % 'abcdef' }}|{{ '%s' % [1, 2] }}"),
    ("percent_format_errors_extra", "{{ '%s' % (1, 2) }}"),
    ("percent_format_errors_type", "{{ '%d' % 'x' }}"),
    ("percent_format_errors_hex_float", "{{ '%x' % 1.5 }}"),
    ("percent_format_errors_char", "{{ '%y' % 1 }}"),
    ("percent_format_errors_key", "{{ '%(a)s'|format(b=1) }}"),
    ("percent_format_errors_mixed", "{{ '%s'|format(1, b=2) }}"),
    ("str_format_spec", "{{ '{:,}'.format(1234567) }}|{{ '{:_}'.format(-1234567) }}|{{ '{:,.2f}'.format(1234567.891) }}|"
                        "{{ '{:>12,}'.format(1234) }}|{{ '{:*^9}'.format('ab') }}|{{ '{:+d}|{: d}'.format(5, 5) }}|"
                        "{{ '{:x}|{:#X}|{:#o}|{:b}|{:#b}|{:_x}'.format(255, 255, 8, 5, 5, 1048575) }}|{{ '{:e}|{:.1%}'.format(12345.6789, 0.256) }}|"
                        "{{ '{:08.3f}|{:=+8}'.format(-3.14159, 42) }}|{{ '{:c}'.format(97) }}|{{ '{:.3}'.format('abcdef') }}"),
    ("str_format_fields", "{{ '{0[a]}|{0[b][c]}|{1[0]}|{1[2]}'.format(d, l) }}|{{ '{x.a}|{x[b].c}'.format(x=d) }}|"
                          "{{ '{0.get}'.format(d) is string }}|{{ '{u[0][name]:>5}'.format(u=users) }}"),
    ("str_format_bad_code", "{{ '{:d}'.format('x') }}"),
    # Number literals at the edges of double (ints beyond int64: jinja_interpreter_test.cc).
    ("float_literal_extremes", "{{ 5e-324 }}|{{ 1e400 }}|{{ 2.5e-320 * 2 }}|{{ 9223372036854775807 }}"),
]
