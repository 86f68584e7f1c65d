"""Real-looking model outputs, per dialect, with the calls they hold.

Each case: (id, text, expected calls as [(name, arguments)], options). Options: ``known`` (the
tool list passed to the parser), ``format`` (the dialect label expected on every call),
``repaired`` (fixes that must all be reported), ``text`` (the visible text expected).
The property tests in test_stream.py feed every case here in random splits.
"""

from __future__ import annotations

from typing import Any

Case = tuple[str, str, list[tuple[str, dict[str, Any]]], dict[str, Any]]

W = ("get_weather", {"city": "Paris"})

DIALECT_CASES: list[Case] = [
    # --- Hermes / Qwen ---------------------------------------------------------------------
    ("hermes-qwen25",
     '<tool_call>\n{"name": "get_current_temperature", "arguments": {"location": "San Francisco, '
     'CA, USA", "unit": "celsius"}}\n</tool_call>',
     [("get_current_temperature", {"location": "San Francisco, CA, USA", "unit": "celsius"})],
     {"format": "hermes", "text": ""}),
    ("hermes-two-calls-with-text",
     "I'll check both cities.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
     "{\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", "
     "\"arguments\": {\"city\": \"Berlin\"}}\n</tool_call>",
     [W, ("get_weather", {"city": "Berlin"})], {"format": "hermes",
                                                 "text": "I'll check both cities."}),
    ("hermes2pro-python-dict",
     "<tool_call>\n{'arguments': {'symbol': 'TSLA'}, 'name': 'get_stock_fundamentals'}\n"
     "</tool_call>",
     [("get_stock_fundamentals", {"symbol": "TSLA"})], {"format": "hermes",
                                                        "repaired": ["single_quotes"]}),
    ("qwq-think-then-call",
     "<think>\nThe user asks for the weather in Paris. I have get_weather; I'll call it.\n"
     "</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"
     "\n</tool_call>",
     [W], {"format": "hermes", "text": ""}),
    ("qwen3-forced-open-think",
     "Okay, the user wants the weather. Maybe {\"name\": \"draft\", \"arguments\": {}} first? No."
     "\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"
     "\n</tool_call>",
     [W], {"format": "hermes", "text": ""}),
    ("hermes-wrapper-tools",
     '<tools>{"name": "get_weather", "arguments": {"city": "Paris"}}</tools>',
     [W], {"format": "hermes"}),
    ("hermes-wrapper-function-call",
     '<function_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</function_call>',
     [W], {"format": "hermes"}),
    ("hermes-in-xml-fence",
     '```xml\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
     "\n```",
     [W], {"format": "hermes", "text": ""}),
    ("hermes-no-closer",
     'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}',
     [W], {"format": "hermes", "text": "Checking."}),
    ("hermes-list-inside",
     '<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"x": 1}}]'
     "</tool_call>",
     [("a", {}), ("b", {"x": 1})], {"format": "hermes"}),
    ("hermes-pythonic-inside", '<tool_call>get_weather(city="Paris")</tool_call>', [W],
     {"format": "hermes"}),
    ("granite31-tool-call-list",
     '<tool_call> [{"name": "get_current_weather", "arguments": {"city": "Boston"}}]',
     [("get_current_weather", {"city": "Boston"})], {"format": "hermes"}),
    ("hermes-uppercase-tag",
     '<TOOL_CALL>{"name": "get_weather", "arguments": {"city": "Paris"}}</TOOL_CALL>', [W],
     {"format": "hermes"}),
    # --- Qwen3-Coder / Seed XML -------------------------------------------------------------
    ("qwen3-coder-xml",
     "<tool_call>\n<function=execute_bash>\n<parameter=command>\nls -la /tmp\n</parameter>\n"
     "<parameter=timeout>\n30\n</parameter>\n</function>\n</tool_call>",
     # Without the tool's schema a value stays text, as vLLM's qwen3coder parser reads it.
     [("execute_bash", {"command": "ls -la /tmp", "timeout": "30"})], {"format": "qwen3_xml"}),
    ("qwen3-coder-multiline-value",
     "<tool_call>\n<function=write_file>\n<parameter=path>\nhello.py\n</parameter>\n"
     "<parameter=content>\ndef hi():\n    print(\"hi\")\n</parameter>\n</function>\n</tool_call>",
     [("write_file", {"path": "hello.py", "content": 'def hi():\n    print("hi")'})],
     {"format": "qwen3_xml"}),
    ("seed-oss-xml",
     "<seed:tool_call>\n<function=get_weather>\n<parameter=city>Paris</parameter>\n</function>\n"
     "</seed:tool_call>",
     [W], {"format": "seed_oss"}),
    # --- Mistral ----------------------------------------------------------------------------
    ("mistral-v03-list",
     '[TOOL_CALLS] [{"name": "get_current_weather", "arguments": {"location": "Paris, France", '
     '"format": "celsius"}}]</s>',
     [("get_current_weather", {"location": "Paris, France", "format": "celsius"})],
     {"format": "mistral", "text": ""}),
    ("mistral-nemo-with-id",
     '[TOOL_CALLS][{"name": "search", "arguments": {"query": "rust async"}, "id": "a1B2c3D4e"}]',
     [("search", {"query": "rust async"})], {"format": "mistral"}),
    ("mistral-v11-call-id",
     '[TOOL_CALLS]get_weather[CALL_ID]abc123XYZ[ARGS]{"city": "Paris"}', [W],
     {"format": "mistral"}),
    ("mistral-v13-two-calls",
     '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]get_time[ARGS]{"tz": "CET"}',
     [W, ("get_time", {"tz": "CET"})], {"format": "mistral"}),
    ("mistral-v13-chained-without-marker",
     '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}get_time[ARGS]{"tz": "CET"}',
     [W, ("get_time", {"tz": "CET"})], {"format": "mistral"}),
    ("mistral-args-dropped", '[TOOL_CALLS]get_weather{"city": "Paris"}', [W],
     {"format": "mistral"}),
    ("magistral-think-then-call",
     '[THINK]The user wants the weather in Paris; call the tool.[/THINK][TOOL_CALLS]get_weather'
     '[ARGS]{"city": "Paris"}',
     [W], {"format": "mistral", "text": ""}),
    ("mistral-ollama-closer",
     '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}][/TOOL_CALLS]', [W],
     {"format": "mistral", "text": ""}),
    # --- Llama 3.x --------------------------------------------------------------------------
    ("llama3-bare-parameters",
     '{"name": "get_weather", "parameters": {"city": "Paris"}}', [W], {"format": "llama3_json"}),
    ("llama3-type-function",
     '{"type": "function", "name": "get_weather", "parameters": {"city": "Paris"}}', [W],
     {"format": "llama3_json"}),
    ("llama3-python-tag-json",
     '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}<|eom_id|>', [W],
     {"format": "python_tag", "text": ""}),
    ("llama3-builtin-brave",
     '<|python_tag|>brave_search.call(query="current weather in Menlo Park")<|eom_id|>',
     [("brave_search", {"query": "current weather in Menlo Park"})], {"format": "python_tag"}),
    ("llama3-builtin-wolfram",
     '<|python_tag|>wolfram_alpha.call(query="solve x^2 - 4 = 0")',
     [("wolfram_alpha", {"query": "solve x^2 - 4 = 0"})], {"format": "python_tag"}),
    ("llama3-semicolon-joined",
     '{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "get_time", '
     '"parameters": {"tz": "CET"}}',
     [W, ("get_time", {"tz": "CET"})], {"format": "llama3_json"}),
    ("llama3-python-tag-semicolon",
     '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": '
     '"get_time", "parameters": {"tz": "CET"}}<|eom_id|>',
     [W, ("get_time", {"tz": "CET"})], {"format": "python_tag"}),
    # --- <function=...> ---------------------------------------------------------------------
    ("llama-function-tag",
     '<function=spotify_trending_songs>{"n": "5"}</function>',
     [("spotify_trending_songs", {"n": "5"})], {"format": "function_tag", "text": ""}),
    ("function-name-attribute",
     'Let me look.\n<function name="get_weather">{"city": "Paris"}</function>', [W],
     {"format": "function_tag", "text": "Let me look."}),
    ("function-tag-two-unclosed",
     '<function=get_weather>{"city": "Paris"}<function=get_time>{"tz": "CET"}',
     [W, ("get_time", {"tz": "CET"})], {"format": "function_tag"}),
    ("invoke-in-function-calls",
     '<function_calls>\n<invoke name="get_weather">\n<parameter name="city">Paris</parameter>\n'
     "</invoke>\n</function_calls>",
     [W], {"format": "invoke"}),
    # --- pythonic ---------------------------------------------------------------------------
    ("pythonic-two",
     '[get_weather(city="San Francisco", metric="celsius"), get_time(timezone="PST")]',
     [("get_weather", {"city": "San Francisco", "metric": "celsius"}),
      ("get_time", {"timezone": "PST"})], {"format": "pythonic", "text": ""}),
    ("pythonic-after-text-line",
     "I will check the weather.\n[get_weather(city='Paris')]", [W],
     {"format": "pythonic", "text": "I will check the weather."}),
    ("pythonic-literals",
     '[search(query="x", filters={"lang": "en"}, tags=["a", "b"], exact=True, limit=None)]',
     [("search", {"query": "x", "filters": {"lang": "en"}, "tags": ["a", "b"], "exact": True,
                  "limit": None})], {"format": "pythonic"}),
    ("llama4-python-start",
     "<|python_start|>[get_weather(city='Paris')]<|python_end|>", [W],
     {"format": "llama4_pythonic"}),
    ("lfm2-tool-call-start",
     '<|tool_call_start|>[get_candidate_status(candidate_id="12345")]<|tool_call_end|>Checking '
     "the candidate now.",
     [("get_candidate_status", {"candidate_id": "12345"})],
     {"format": "lfm2", "text": "Checking the candidate now."}),
    ("gemma-tool-code",
     '```tool_code\nprint(default_api.get_weather(city="Paris"))\n```', [W],
     {"format": "tool_code", "text": ""}),
    ("pythonic-zero-arg-in-marker", "<|python_start|>[get_time()]<|python_end|>",
     [("get_time", {})], {"format": "llama4_pythonic"}),
    # --- DeepSeek ---------------------------------------------------------------------------
    ("deepseek-v3",
     "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
     '{"city": "Paris"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
     [W], {"format": "deepseek", "text": ""}),
    ("deepseek-v31",
     '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}'
     "<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
     [W], {"format": "deepseek"}),
    ("deepseek-two-calls",
     "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
     '{"city": "Paris"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>'
     'get_time\n```json\n{"tz": "CET"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
     [W, ("get_time", {"tz": "CET"})], {"format": "deepseek"}),
    ("deepseek-r1-think-then-call",
     "<think>\nI need the weather tool.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>"
     'function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜>'
     "<｜tool▁calls▁end｜><｜end▁of▁sentence｜>",
     [W], {"format": "deepseek", "text": ""}),
    ("deepseek-distill-variant",
     '<｜tool▁calls｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}'
     "<｜tool▁call▁end｜>",
     [W], {"format": "deepseek"}),
    # --- Granite ----------------------------------------------------------------------------
    ("granite-tool-call-token",
     '<|tool_call|>[{"name": "get_current_weather", "arguments": {"city": "Boston"}}]',
     [("get_current_weather", {"city": "Boston"})], {"format": "granite", "text": ""}),
    ("granite-object",
     '<|tool_call|>{"name": "get_weather", "arguments": {"city": "Paris"}}', [W],
     {"format": "granite"}),
    # --- OpenAI-style / generic JSON ----------------------------------------------------------
    ("openai-function-arguments-string",
     '{"type": "function", "function": {"name": "get_weather", "arguments": '
     '"{\\"city\\": \\"Paris\\"}"}}',
     [W], {"format": "openai"}),
    ("openai-tool-calls-message",
     '{"role": "assistant", "content": null, "tool_calls": [{"id": "call_abc", "type": '
     '"function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}}]}',
     [W], {"format": "openai"}),
    ("openai-legacy-function-call",
     '{"function_call": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}}', [W],
     {}),
    ("fenced-json",
     'I will call the weather tool.\n```json\n{"name": "get_weather", "arguments": {"city": '
     '"Paris"}}\n```',
     [W], {"format": "fenced_json", "text": "I will call the weather tool."}),
    ("fenced-plain-list",
     '```\n[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", '
     '"arguments": {"tz": "CET"}}]\n```',
     [W, ("get_time", {"tz": "CET"})], {"format": "fenced_json"}),
    ("bare-json-in-prose",
     'Sure! I\'ll use the tool: {"name": "get_weather", "arguments": {"city": "Paris"}} and '
     "report back.",
     [W], {"format": "json", "text": "Sure! I'll use the tool:  and report back."}),
    ("json-tool-args-keys", '{"tool": "search", "args": {"query": "cats"}}',
     [("search", {"query": "cats"})], {"format": "json"}),
    ("llamacpp-generic-tool-call",
     '{"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}}', [W], {}),
    ("langchain-action-input",
     '{"action": "search", "action_input": "weather in Paris"}',
     [("search", {"input": "weather in Paris"})], {"format": "json"}),
    ("xlam-bare-list",
     '[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", '
     '"arguments": {"tz": "CET"}}]',
     [W, ("get_time", {"tz": "CET"})], {"format": "json"}),
    ("json-multiline-pretty",
     'Calling:\n{\n  "name": "read_file",\n  "arguments": {\n    "path": "src/main.rs"\n  }\n}\n',
     [("read_file", {"path": "src/main.rs"})], {"format": "json", "text": "Calling:"}),
    ("json-nested-args",
     '{"name": "create_issue", "arguments": {"title": "Bug", "labels": ["bug", "p1"], "meta": '
     '{"assignee": null, "points": 3}}}',
     [("create_issue", {"title": "Bug", "labels": ["bug", "p1"],
                        "meta": {"assignee": None, "points": 3}})], {}),
    ("json-string-with-markers",
     '<tool_call>{"name": "write_file", "arguments": {"path": "a.md", "content": "Use ``` and '
     '[TOOL_CALLS] and {braces} freely"}}</tool_call>',
     [("write_file", {"path": "a.md", "content": "Use ``` and [TOOL_CALLS] and {braces} freely"})],
     {"format": "hermes"}),
    # --- XML-ish ----------------------------------------------------------------------------
    ("xml-tool-params-json",
     '<tool>get_weather</tool>\n<params>{"city": "Paris"}</params>', [W],
     {"format": "xml_tool", "text": ""}),
    ("xml-tool-params-children",
     "<tool>read_file</tool><params><path>main.go</path></params>",
     [("read_file", {"path": "main.go"})], {"format": "xml_tool"}),
    ("cline-read-file",
     "I'll read the file first.\n\n<read_file>\n<path>src/main.go</path>\n</read_file>",
     [("read_file", {"path": "src/main.go"})],
     {"format": "xml_tag", "text": "I'll read the file first."}),
    ("cline-execute-command",
     "<execute_command>\n<command>npm run test</command>\n<requires_approval>false"
     "</requires_approval>\n</execute_command>",
     [("execute_command", {"command": "npm run test", "requires_approval": "false"})],
     {"format": "xml_tag"}),
    ("tool-use-children",
     '<tool_use><name>search</name><arguments>{"query": "cats"}</arguments></tool_use>',
     [("search", {"query": "cats"})], {"format": "hermes"}),
    # --- ReAct and prose ----------------------------------------------------------------------
    ("react-json-input",
     'Thought: I need the weather.\nAction: get_weather\nAction Input: {"city": "Paris"}',
     [W], {"format": "react"}),
    ("react-multiline-input",
     'Thought: search.\nAction: search\nAction Input: {\n  "query": "cats",\n  "limit": 3\n}\n'
     "Observation:",
     [("search", {"query": "cats", "limit": 3})], {"format": "react"}),
    ("react-plain-input-known",
     "Action: search\nAction Input: weather in Paris",
     [("search", {"input": "weather in Paris"})], {"format": "react", "known": ["search"]}),
    ("prose-call-with",
     "I'll call read_file with path='main.go' to see the entry point.",
     [("read_file", {"path": "main.go"})], {"format": "prose", "known": ["read_file"]}),
    ("prose-use-backticks",
     'Let me use `grep_search` with pattern: "TODO", path: "src".',
     [("grep_search", {"pattern": "TODO", "path": "src"})],
     {"format": "prose", "known": ["grep_search", "read_file"]}),
    ("prose-call-syntax",
     'Next step: run_tests(path="tests/unit", verbose=True)',
     [("run_tests", {"path": "tests/unit", "verbose": True})],
     {"format": "prose", "known": ["run_tests"]}),
    ("prose-call-no-args", "Next, call list_files() to see the tree.", [("list_files", {})],
     {"format": "prose", "known": ["list_files"]}),
    ("prose-json-args",
     'I will invoke the get_weather tool with {"city": "Paris"} now.', [W],
     {"format": "prose", "known": ["get_weather"]}),
]

# Outputs that hold no call. (id, text, options)
NEGATIVE_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("plain-prose", "The capital of France is Paris. It has about two million people.", {}),
    ("prose-mentions-tool-no-list", "I'll call read_file with path='main.go' next.", {}),
    ("prose-negated", "Don't call read_file with path='secrets.env'.", {"known": ["read_file"]}),
    ("prose-mention-no-args", "The read_file tool reads a file from disk.",
     {"known": ["read_file"]}),
    ("python-fence-with-call-dict",
     '```python\ncall = {"name": "get_weather", "arguments": {"city": "Paris"}}\nprint(call)\n```',
     {}),
    ("js-fence-pythonic", "```javascript\n[getWeather(city='Paris')]\n```", {}),
    ("bash-fence", '```bash\ncurl -d \'{"name": "x", "arguments": {}}\' localhost\n```', {}),
    ("json-data-person", '{"name": "Alice", "age": 30, "city": "Paris"}', {}),
    ("json-data-extra-keys",
     '{"name": "Widget", "price": 9.99, "arguments": {"size": "M"}}', {}),
    ("tool-definition",
     '{"name": "get_weather", "description": "Get the weather", "parameters": {"type": "object", '
     '"properties": {"city": {"type": "string"}}, "required": ["city"]}}', {}),
    ("openai-tools-definition-list",
     '[{"type": "function", "function": {"name": "get_weather", "description": "Weather", '
     '"parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]', {}),
    ("schema-parameters-no-description",
     '{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": '
     '"string"}}, "required": ["city"]}}', {}),
    ("name-not-identifier", '{"name": "John Smith", "arguments": {"age": 3}}', {}),
    ("arguments-list", '{"name": "f", "arguments": [1, 2]}', {}),
    ("arguments-string-not-json", '{"name": "f", "arguments": "hello world"}', {}),
    ("markdown-links-citations", "See [the docs](https://example.com) and the paper [1].", {}),
    ("html", '<div class="note"><p>Hello <b>world</b></p></div>', {}),
    ("jinja", "Hello {{ user.name }}! {% if admin %}You are admin{% endif %}", {}),
    ("latex", r"The ratio is $\frac{a}{b}$ and \begin{align} x &= 1 \end{align}", {}),
    ("call-only-inside-think",
     '<think>Maybe <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
     "</think>The answer is 42.", {}),
    ("mistral-call-inside-think",
     '[THINK][TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[/THINK]No tool needed: it is sunny.',
     {}),
    ("pythonic-mid-line", "You could write x = [get_weather(city='Paris')] in your code.", {}),
    ("pythonic-positional", "[get_weather('Paris')]", {}),
    ("pythonic-non-literal", "[get_weather(city=my_city)]", {}),
    ("list-comprehension", "[print(x) for x in range(3)]", {}),
    ("marker-mentioned-in-prose", "Mistral models emit [TOOL_CALLS] before their calls.", {}),
    ("hermes-tag-mentioned", "Use the `<tool_call>` tag when you call tools; I won't now.", {}),
    ("empty", "", {}),
    ("whitespace", "   \n\t  \n", {}),
    ("refusal", "I'm sorry, but I can't help with that request.", {}),
    ("empty-tool-calls-list", '{"tool_calls": []}', {}),
    ("function-definition-keys", '{"function": "sum", "description": "adds numbers"}', {}),
    ("js-code-unfenced", "function f() { return {name: 'x'}; }\nconst y = [1, 2];", {}),
    ("custom-tags-no-underscore", "<note>remember the milk</note> and <b>bold</b>", {}),
    ("unknown-tool-with-known-list",
     '{"name": "delete_everything", "arguments": {"confirm": true}}', {"known": ["read_file"]}),
    ("python-fence-json-dumps",
     '```python\nimport json\nprint(json.dumps({"name": "f", "arguments": {}}))\n```', {}),
    ("truncated-name", '{"name": "get_wea', {}),
    ("marker-alone-at-end", "Calling the tool now. [TOOL_CALLS]", {}),
    ("deepseek-empty-section", "<｜tool▁calls▁begin｜><｜tool▁calls▁end｜>", {}),
    ("react-plain-input-no-list", "Action: search\nAction Input: weather in Paris", {}),
    ("tool-tag-in-prose", "Wrap the tool name in <tool> tags when you answer.", {}),
    ("json-array-of-numbers", "The values are [1, 2, 3] and {\"a\": [4, 5]}.", {}),
    ("yaml-fence", "```yaml\nname: get_weather\narguments:\n  city: Paris\n```", {}),
    ("known-tool-in-python-fence",
     '```python\nread_file(path="main.go")\n```', {"known": ["read_file"]}),
    # found by running the parser over the READMEs of every installed package:
    ("signature-with-ellipsis",
     "Supply headers through `default_headers` or `connect(extra_headers=...)`.",
     {"known": ["connect"]}),
    ("signature-mention", "We use `timeout=USE_CLIENT_DEFAULT` in the `request()` signature.",
     {"known": ["request"]}),
    ("assignment-code-line", "result = read_file(path='a.txt')", {"known": ["read_file"]}),
    ("pythonic-template-ellipsis", "[get_weather(city=...)]", {}),
]

# Malformed outputs that still hold a recoverable call, and the fixes that must be reported.
MALFORMED_CASES: list[tuple[str, str, list[tuple[str, dict[str, Any]]], list[str]]] = [
    ("trailing-comma-args", '{"name": "get_weather", "arguments": {"city": "Paris",}}', [W],
     ["trailing_comma"]),
    ("trailing-comma-list",
     '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}},]', [W],
     ["trailing_comma"]),
    ("single-quotes", "{'name': 'get_weather', 'arguments': {'city': 'Paris'}}", [W],
     ["single_quotes"]),
    ("python-literals",
     "<tool_call>{'name': 'set_flag', 'arguments': {'enabled': True, 'owner': None}}</tool_call>",
     [("set_flag", {"enabled": True, "owner": None})], ["python_literal"]),
    ("unquoted-keys", '{name: "get_weather", arguments: {city: "Paris"}}', [W], ["unquoted_key"]),
    ("line-comments",
     '{\n  "name": "get_weather", // the tool\n  "arguments": {"city": "Paris"}\n}', [W],
     ["comment"]),
    ("block-comment", '{"name": "get_weather", /* pick one */ "arguments": {"city": "Paris"}}',
     [W], ["comment"]),
    ("hash-comment-in-marker",
     '<tool_call>{"name": "get_weather", # weather\n "arguments": {"city": "Paris"}}</tool_call>',
     [W], ["comment"]),
    ("unclosed-braces-at-end", '{"name": "get_weather", "arguments": {"city": "Paris"', [W],
     ["unclosed_object"]),
    ("unclosed-string-at-end",
     '<tool_call>\n{"name": "write_file", "arguments": {"path": "a.py", "content": "print(1)',
     [("write_file", {"path": "a.py", "content": "print(1)"})], ["unclosed_string"]),
    ("dangling-key", '{"name": "get_weather", "arguments": {"city": "Paris", "unit":', [W],
     ["dangling_key"]),
    ("missing-comma", '{"name": "get_weather" "arguments": {"city": "Paris"}}', [W],
     ["missing_comma"]),
    ("extra-closing-brace",
     '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}}</tool_call>', [W],
     ["extra_closing_bracket"]),
    ("raw-newline-in-string",
     '<tool_call>{"name": "write_file", "arguments": {"path": "a.txt", "content": "line1\nline2"}}'
     "</tool_call>",
     [("write_file", {"path": "a.txt", "content": "line1\nline2"})], ["control_character"]),
    ("invalid-escape",
     r'{"name": "read_file", "arguments": {"path": "C:\dir\file.txt"}}',
     [("read_file", {"path": r"C:\dir\file.txt"})], ["invalid_escape"]),
    ("unescaped-inner-quotes",
     '<tool_call>{"name": "say", "arguments": {"text": "He said "hi" to me"}}</tool_call>',
     [("say", {"text": 'He said "hi" to me'})], ["unescaped_quote"]),
    ("mismatched-bracket",
     '<tool_call>{"name": "sum", "arguments": {"xs": [1, 2}}</tool_call>',
     [("sum", {"xs": [1, 2]})], ["mismatched_bracket"]),
    ("arguments-string-single-quotes",
     "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": "
     "\"{'city': 'Paris'}\"}}",
     [W], ["single_quotes"]),
    ("truncated-mistral", '[TOOL_CALLS] [{"name": "search", "arguments": {"query": "rust',
     [("search", {"query": "rust"})], ["unclosed_string"]),
    ("truncated-pythonic", '[get_weather(city="Par', [("get_weather", {"city": "Par"})],
     ["unclosed_call"]),
    ("truncated-pythonic-dangling-arg", "[get_weather(city='Paris', unit=",
     [W], ["dangling_argument"]),
    ("js-literals",
     '<tool_call>{"name": "plot", "arguments": {"x": NaN, "y": undefined}}</tool_call>',
     [("plot", {"x": "nan", "y": None})], ["js_literal"]),
    ("truncated-literal-dropped", '{"name": "f", "arguments": {"a": 1, "verbose": tru',
     [("f", {"a": 1})], ["dangling_key"]),
    ("double-comma", '{"name": "f", "arguments": {"a": 1,, "b": 2}}', [("f", {"a": 1, "b": 2})],
     ["extra_comma"]),
    ("hermes-unclosed-then-next",
     '<tool_call>{"name": "a", "arguments": {"x": 1}}\n<tool_call>{"name": "b", "arguments": {}}'
     "</tool_call>",
     [("a", {"x": 1}), ("b", {})], []),
    ("truncated-deepseek",
     "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
     '{"city": "Paris"',
     [W], ["unclosed_object"]),
    ("truncated-function-tag", '<function=get_weather>{"city": "Paris"', [W],
     ["unclosed_object"]),
    ("unquoted-value-in-marker",
     "<tool_call>{name: read_file, arguments: {path: main.go}}</tool_call>",
     [("read_file", {"path": "main.go"})], ["unquoted_value"]),
]


def all_texts() -> list[tuple[str, str, list[str] | None]]:
    """(id, text, known) for every case above, for the property tests."""
    out: list[tuple[str, str, list[str] | None]] = []
    for cid, text, _calls, opts in DIALECT_CASES:
        out.append((cid, text, opts.get("known")))
    for cid, text, opts in NEGATIVE_CASES:
        out.append((cid, text, opts.get("known")))
    for cid, text, _calls, _fixes in MALFORMED_CASES:
        out.append((cid, text, None))
    return out


# --- Dialects added for issue 17: per dialect, at least a single call, several calls, nested /
# escaped / unicode arguments, a call after prose, and a plain answer of that model (no call).
# Each case: (id, text, expected calls, options) as above; ``tools`` (name -> JSON Schema) is
# passed to the parser when present.
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                   "metric": {"type": "boolean"}, "tags": {"type": "array"},
                   "opts": {"type": "object"}},
    "required": ["city"],
}
TOOLS: dict[str, dict[str, Any]] = {"get_weather": WEATHER_SCHEMA,
                                    "get_time": {"type": "object", "properties": {}}}
NEST = {"filter": {"lang": "fr", "tags": ["a", "b"]}, "note": "Zoë said \"hi\"\n— ok"}
NEST_JSON = '{"filter": {"lang": "fr", "tags": ["a", "b"]}, "note": "Zoë said \\"hi\\"\\n— ok"}'
T = ("get_time", {})
W2 = ("get_weather", {"city": "Berlin"})

NEW_DIALECT_CASES: dict[str, list[Case]] = {
    "functionary_v32": [
        ("fv32-single", '>>>get_weather\n{"city": "Paris"}', [W], {"format": "functionary_v32"}),
        ("fv32-several", '>>>get_weather\n{"city": "Paris"}\n>>>get_weather\n{"city": "Berlin"}'
         '>>>get_time\n{}', [W, W2, T], {"format": "functionary_v32"}),
        ("fv32-nested", ">>>search\n" + NEST_JSON, [("search", NEST)],
         {"format": "functionary_v32"}),
        ("fv32-all-then-call", 'all\nLet me look that up.>>>get_weather\n{"city": "Paris"}', [W],
         {"format": "functionary_v32", "text": "Let me look that up."}),
        ("fv32-first-without-marker", 'get_weather\n{"city": "Paris"}>>>get_time\n{}', [W, T],
         {"format": "functionary_v32", "known": ["get_weather", "get_time"]}),
        ("fv32-python", ">>>python\nimport math\nprint(math.pi)",
         [("python", {"code": "import math\nprint(math.pi)"})], {"format": "functionary_v32"}),
        ("fv32-plain-answer", "all\nThe capital of France is Paris.", [],
         {"text": "The capital of France is Paris."}),
    ],
    "functionary_v31": [
        ("fv31-single", '<function=get_weather>{"city": "Paris"}</function>', [W],
         {"format": "function_tag"}),
        ("fv31-several", '<function=get_weather>{"city": "Paris"}</function>\n'
         '<function=get_time>{}</function>', [W, T], {"format": "function_tag"}),
        ("fv31-nested", "<function=search>" + NEST_JSON + "</function>", [("search", NEST)],
         {"format": "function_tag"}),
        ("fv31-after-prose", 'I need the forecast.\n<function=get_weather>{"city": "Paris"}'
         "</function>", [W], {"format": "function_tag", "text": "I need the forecast."}),
        ("fv31-plain-answer", "The function returns a list of cities.", [], {}),
    ],
    "glm45": [
        ("glm-single", "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris"
         "</arg_value>\n</tool_call>", [W], {"format": "glm45"}),
        ("glm-several", "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris"
         "</arg_value>\n</tool_call>\n<tool_call>get_time</tool_call>", [W, T],
         {"format": "glm45"}),
        ("glm-typed-without-schema", "<tool_call>get_weather\n<arg_key>city</arg_key>\n"
         "<arg_value>Paris</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n"
         "<arg_key>tags</arg_key>\n<arg_value>[\"a\", \"b\"]</arg_value>\n</tool_call>",
         [("get_weather", {"city": "Paris", "days": 3, "tags": ["a", "b"]})], {"format": "glm45"}),
        ("glm-string-by-schema", "<tool_call>get_weather\n<arg_key>city</arg_key>\n"
         "<arg_value>1984</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n"
         "</tool_call>", [("get_weather", {"city": "1984", "days": 3})],
         {"format": "glm45", "tools": TOOLS}),
        ("glm-unicode-after-think", "<think>The user wants Zürich.</think>Checking.\n"
         "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Zürich ☀</arg_value>\n"
         "</tool_call>", [("get_weather", {"city": "Zürich ☀"})],
         {"format": "glm45", "text": "Checking."}),
        ("glm-plain-answer", "<think>No tool needed.</think>It is 4.", [], {"text": "It is 4."}),
    ],
    "kimi_k2": [
        ("kimi-single", "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
         '<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|>'
         "<|tool_calls_section_end|>", [W], {"format": "kimi_k2"}),
        ("kimi-several", "<|tool_calls_section_begin|>\n<|tool_call_begin|>functions.get_weather:0"
         '<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|>\n<|tool_call_begin|>'
         "functions.get_time:1<|tool_call_argument_begin|>{}<|tool_call_end|>\n"
         "<|tool_calls_section_end|>", [W, T], {"format": "kimi_k2"}),
        ("kimi-nested", "<|tool_calls_section_begin|><|tool_call_begin|>functions.search:0"
         "<|tool_call_argument_begin|>" + NEST_JSON + "<|tool_call_end|><|tool_calls_section_end|>",
         [("search", NEST)], {"format": "kimi_k2"}),
        ("kimi-after-prose", "I'll check the weather for you.<|tool_calls_section_begin|>"
         '<|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{"city": "Paris"}'
         "<|tool_call_end|><|tool_calls_section_end|>", [W],
         {"format": "kimi_k2", "text": "I'll check the weather for you."}),
        ("kimi-plain-answer", "Paris is sunny today, around 21 °C.", [], {}),
    ],
    "harmony": [
        ("harmony-single", "<|channel|>analysis<|message|>User wants weather.<|end|><|start|>"
         "assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
         '{"city": "Paris"}<|call|>', [W], {"format": "harmony", "text": ""}),
        ("harmony-recipient-in-role", "<|channel|>analysis<|message|>Need it.<|end|>"
         "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>"
         '{"city":"Paris"}<|call|>', [W], {"format": "harmony"}),
        ("harmony-several", "<|channel|>commentary to=functions.get_weather <|constrain|>json"
         '<|message|>{"city": "Paris"}<|call|><|start|>assistant<|channel|>commentary '
         "to=functions.get_time <|constrain|>json<|message|>{}<|call|>", [W, T],
         {"format": "harmony"}),
        ("harmony-nested", "<|channel|>commentary to=functions.search <|constrain|>json<|message|>"
         + NEST_JSON + "<|call|>", [("search", NEST)], {"format": "harmony"}),
        ("harmony-after-preamble", "<|channel|>commentary<|message|>Checking the forecast now."
         "<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
         '<|message|>{"city": "Paris"}<|call|>', [W],
         {"format": "harmony", "text": "Checking the forecast now."}),
        ("harmony-analysis-is-never-a-call", "<|channel|>analysis<|message|>I could call "
         '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call> but no.'
         "<|end|><|start|>assistant<|channel|>final<|message|>It is sunny.<|return|>", [],
         {"text": "It is sunny."}),
        ("harmony-analysis-recipient-ignored", "<|channel|>analysis to=functions.get_weather "
         '<|message|>{"city": "Paris"}<|end|><|start|>assistant<|channel|>final<|message|>'
         "Done.", [], {"text": "Done."}),
    ],
    "command_r7b": [
        ("cr7b-single", '<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "get_weather", '
         '"parameters": {"city": "Paris"}}]<|END_ACTION|>', [W], {"format": "command_r7b"}),
        ("cr7b-several-after-thinking", "<|START_THINKING|>Two lookups.<|END_THINKING|>"
         '<|START_ACTION|>[\n{"tool_call_id": "0", "tool_name": "get_weather", "parameters": '
         '{"city": "Paris"}},\n{"tool_call_id": "1", "tool_name": "get_time", "parameters": {}}\n]'
         "<|END_ACTION|>", [W, T], {"format": "command_r7b", "text": ""}),
        ("cr7b-nested", '<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "search", '
         '"parameters": ' + NEST_JSON + "}]<|END_ACTION|>", [("search", NEST)],
         {"format": "command_r7b"}),
        ("cr7b-after-prose", 'Let me check.\n<|START_ACTION|>[{"tool_call_id": "0", "tool_name": '
         '"get_weather", "parameters": {"city": "Paris"}}]<|END_ACTION|>', [W],
         {"format": "command_r7b", "text": "Let me check."}),
        ("cr7b-plain-answer", "<|START_THINKING|>Easy.<|END_THINKING|><|START_RESPONSE|>It is 4."
         "<|END_RESPONSE|>", [], {"text": "It is 4."}),
    ],
    "command_r": [
        ("cr-single", 'Action: ```json\n[{"tool_name": "get_weather", "parameters": {"city": '
         '"Paris"}}]\n```', [W], {"format": "command_r"}),
        ("cr-several", 'Action: ```json\n[\n    {"tool_name": "get_weather", "parameters": '
         '{"city": "Paris"}},\n    {"tool_name": "get_time", "parameters": {}}\n]\n```', [W, T],
         {"format": "command_r"}),
        ("cr-nested", 'Action: ```json\n[{"tool_name": "search", "parameters": ' + NEST_JSON
         + "}]\n```", [("search", NEST)], {"format": "command_r"}),
        ("cr-after-plan", "Plan: I will look up the weather.\nAction: ```json\n[{\"tool_name\": "
         "\"get_weather\", \"parameters\": {\"city\": \"Paris\"}}]\n```", [W],
         {"format": "command_r"}),
        ("cr-plain-answer", "Grounded answer: Paris is the capital of France.", [], {}),
    ],
    "phi4_mini": [
        ("phi4-single", 'functools[{"name": "get_weather", "arguments": {"city": "Paris"}}]', [W],
         {"format": "phi4_mini", "text": ""}),
        ("phi4-several", 'functools[{"name": "get_weather", "arguments": {"city": "Paris"}}, '
         '{"name": "get_time", "arguments": {}}]', [W, T], {"format": "phi4_mini"}),
        ("phi4-nested", 'functools[{"name": "search", "arguments": ' + NEST_JSON + "}]",
         [("search", NEST)], {"format": "phi4_mini"}),
        ("phi4-after-prose-firefunction", 'I will check. functools[{"name": "get_weather", '
         '"arguments": {"city": "Paris"}}]', [W],
         {"format": "phi4_mini", "text": "I will check."}),
        ("phi4-plain-answer", "Use functools.partial or functools[0] style indexing? Neither.", [],
         {}),
    ],
    "jamba": [
        ("jamba-single", '<tool_calls>[{"name": "get_weather", "arguments": {"city": "Paris"}}]'
         "</tool_calls>", [W], {"format": "jamba", "text": ""}),
        ("jamba-several", '<tool_calls>[\n{"name": "get_weather", "arguments": {"city": "Paris"}},'
         '\n{"name": "get_time", "arguments": {}}\n]</tool_calls>', [W, T], {"format": "jamba"}),
        ("jamba-nested", '<tool_calls>[{"name": "search", "arguments": ' + NEST_JSON
         + "}]</tool_calls>", [("search", NEST)], {"format": "jamba"}),
        ("jamba-after-prose", 'Let me see.\n<tool_calls>[{"name": "get_weather", "arguments": '
         '{"city": "Paris"}}]</tool_calls>', [W], {"format": "jamba", "text": "Let me see."}),
        ("jamba-plain-answer", "The tool_calls list is empty, so I answer directly: 42.", [], {}),
    ],
    "internlm2": [
        ("internlm2-single", '<|action_start|><|plugin|>\n{"name": "get_weather", "parameters": '
         '{"city": "Paris"}}<|action_end|>', [W], {"format": "internlm2", "text": ""}),
        ("internlm2-several", '<|action_start|><|plugin|>\n{"name": "get_weather", "parameters": '
         '{"city": "Paris"}}<|action_end|>\n<|action_start|><|plugin|>\n{"name": "get_time", '
         '"parameters": {}}<|action_end|>', [W, T], {"format": "internlm2"}),
        ("internlm2-nested", '<|action_start|><|plugin|>{"name": "search", "parameters": '
         + NEST_JSON + "}<|action_end|>", [("search", NEST)], {"format": "internlm2"}),
        ("internlm2-after-prose", 'I need to look this up.<|action_start|><|plugin|>\n{"name": '
         '"get_weather", "parameters": {"city": "Paris"}}<|action_end|>', [W],
         {"format": "internlm2", "text": "I need to look this up."}),
        ("internlm2-plain-answer", "It is sunny in Paris.<|im_end|>", [],
         {"text": "It is sunny in Paris."}),
    ],
    "minimax_m2": [
        ("minimax-single", '<minimax:tool_call>\n<invoke name="get_weather">\n<parameter '
         'name="city">Paris</parameter>\n</invoke>\n</minimax:tool_call>', [W],
         {"format": "minimax_m2", "text": ""}),
        ("minimax-several", '<minimax:tool_call>\n<invoke name="get_weather">\n<parameter '
         'name="city">Paris</parameter>\n</invoke>\n<invoke name="get_time">\n</invoke>\n'
         "</minimax:tool_call>", [W, T], {"format": "minimax_m2"}),
        ("minimax-typed-by-schema", '<minimax:tool_call>\n<invoke name="get_weather">\n'
         '<parameter name="city">Zürich</parameter>\n<parameter name="days">3</parameter>\n'
         '<parameter name="metric">true</parameter>\n<parameter name="opts">{"a": [1, 2]}'
         "</parameter>\n</invoke>\n</minimax:tool_call>",
         [("get_weather", {"city": "Zürich", "days": 3, "metric": True, "opts": {"a": [1, 2]}})],
         {"format": "minimax_m2", "tools": TOOLS}),
        ("minimax-text-without-schema", '<minimax:tool_call>\n<invoke name="get_weather">\n'
         '<parameter name="city">Paris</parameter>\n<parameter name="days">3</parameter>\n'
         "</invoke>\n</minimax:tool_call>", [("get_weather", {"city": "Paris", "days": "3"})],
         {"format": "minimax_m2"}),
        ("minimax-after-think", "<think>Weather tool.</think>\nOn it.\n<minimax:tool_call>\n"
         '<invoke name="get_weather">\n<parameter name="city">Paris</parameter>\n</invoke>\n'
         "</minimax:tool_call>", [W], {"format": "minimax_m2", "text": "On it."}),
        ("minimax-plain-answer", "<think>Simple.</think>\nParis is in France.", [],
         {"text": "Paris is in France."}),
    ],
    "seed_oss": [
        ("seed-single", "<seed:tool_call>\n<function=get_weather>\n<parameter=city>Paris"
         "</parameter>\n</function>\n</seed:tool_call>", [W], {"format": "seed_oss"}),
        ("seed-several", "<seed:tool_call>\n<function=get_weather>\n<parameter=city>Paris"
         "</parameter>\n</function>\n</seed:tool_call><seed:tool_call>\n<function=get_time>\n"
         "</function>\n</seed:tool_call>", [W, T], {"format": "seed_oss"}),
        ("seed-typed-by-schema", "<seed:tool_call>\n<function=get_weather>\n<parameter=city>"
         "Zürich</parameter>\n<parameter=days>3</parameter>\n<parameter=metric>false</parameter>"
         "\n<parameter=tags>['a', 'b']</parameter>\n</function>\n</seed:tool_call>",
         [("get_weather", {"city": "Zürich", "days": 3, "metric": False, "tags": ["a", "b"]})],
         {"format": "seed_oss", "tools": TOOLS}),
        ("seed-after-think", "<seed:think>The user wants the weather.</seed:think>Let me check."
         "<seed:tool_call>\n<function=get_weather>\n<parameter=city>Paris</parameter>\n"
         "</function>\n</seed:tool_call>", [W], {"format": "seed_oss", "text": "Let me check."}),
        ("seed-plain-answer", "<seed:think>No tool.</seed:think>It is 4.", [],
         {"text": "It is 4."}),
    ],
    "qwen3_coder": [
        ("qwen3c-single", "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n"
         "</parameter>\n</function>\n</tool_call>", [W], {"format": "qwen3_xml"}),
        ("qwen3c-several", "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n"
         "</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=get_time>\n</function>\n"
         "</tool_call>", [W, T], {"format": "qwen3_xml"}),
        ("qwen3c-multiline-code", "<tool_call>\n<function=write_file>\n<parameter=path>\nsrc/a.py"
         "\n</parameter>\n<parameter=content>\nclass A:\n    \"\"\"Zoë's <b>class</b>.\"\"\"\n\n"
         "    x = {'k': [1, 2]}\n</parameter>\n</function>\n</tool_call>",
         [("write_file", {"path": "src/a.py",
                          "content": "class A:\n    \"\"\"Zoë's <b>class</b>.\"\"\"\n\n"
                                     "    x = {'k': [1, 2]}"})], {"format": "qwen3_xml"}),
        ("qwen3c-typed-by-schema", "<tool_call>\n<function=get_weather>\n<parameter=city>\n"
         "Paris\n</parameter>\n<parameter=days>\n3\n</parameter>\n<parameter=tags>\n[\"a\"]\n"
         "</parameter>\n</function>\n</tool_call>",
         [("get_weather", {"city": "Paris", "days": 3, "tags": ["a"]})],
         {"format": "qwen3_xml", "tools": TOOLS}),
        ("qwen3c-after-prose", "I'll write the file.\n\n<tool_call>\n<function=get_weather>\n"
         "<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>", [W],
         {"format": "qwen3_xml", "text": "I'll write the file."}),
        ("qwen3c-plain-answer", "Use `<function=name>` tags only when you call a tool.", [], {}),
    ],
    "pythonic": [
        ("py-zero-args", "[get_time()]", [T], {"format": "pythonic", "text": ""}),
        ("py-zero-and-kwargs", "[get_time(), get_weather(city='Paris')]", [T, W],
         {"format": "pythonic"}),
        ("py-after-sentence", "I will check the weather. [get_weather(city='Paris')]", [W],
         {"format": "pythonic", "text": "I will check the weather."}),
        ("py-after-colon-unicode", "Calling it now: [get_weather(city='Zürich', "
         "tags=['☀', 'é'])]", [("get_weather", {"city": "Zürich", "tags": ["☀", "é"]})],
         {"format": "pythonic"}),
        ("py-plain-answer", "Lists look like [1, 2, 3] and calls like f(x) in Python.", [], {}),
    ],
}


def new_dialect_texts() -> list[tuple[str, str, list[str] | None, dict[str, Any] | None]]:
    """(id, text, known, tools) for every case of NEW_DIALECT_CASES."""
    return [(cid, text, opts.get("known"), opts.get("tools"))
            for cases in NEW_DIALECT_CASES.values() for cid, text, _calls, opts in cases]
