"""The fallback formats must match the families' real prompt strings exactly."""
from app.engine.chat_template import ChatTemplate, Message

MSGS = [Message("system", "Be brief."), Message("user", "Hi?")]

QWEN = ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n"
        "<|im_start|>assistant\n")
LLAMA = ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\nHi?<|eot_id|>"
         "<|start_header_id|>assistant<|end_header_id|>\n\n")

# Trimmed-down versions of the real templates shipped in the GGUFs.
QWEN_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
                 "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
                 "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
LLAMA_TEMPLATE = ("{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + "
                  "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
                  "'<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}"
                  "{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}")


def test_qwen_template_and_fallback_agree():
    t = ChatTemplate(QWEN_TEMPLATE, "qwen2", "", "<|im_end|>")
    r = t.render(MSGS)
    assert (r.text, r.used_fallback) == (QWEN, False)
    assert t.fallback(MSGS) == QWEN
    assert "<|im_end|>" in r.stop


def test_llama_template_and_fallback_agree():
    t = ChatTemplate(LLAMA_TEMPLATE, "llama", "<|begin_of_text|>", "<|eot_id|>")
    assert t.render(MSGS).text == LLAMA
    assert t.fallback(MSGS) == LLAMA
    assert "<|eot_id|>" in t.stop


def test_unrenderable_templates_fall_back_to_family():
    gen_tag = QWEN_TEMPLATE.replace("{% for", "{% generation %}{% for")
    r = ChatTemplate(gen_tag, "qwen2").render(MSGS)
    assert (r.text, r.used_fallback, r.family) == (QWEN, True, "chatml")
    raising = "<|start_header_id|>{{ raise_exception('nope') }}"
    r = ChatTemplate(raising, "llama", "<|begin_of_text|>").render(MSGS)
    assert (r.text, r.used_fallback) == (LLAMA, True)


def test_strftime_now_is_available():
    t = ChatTemplate("{{ strftime_now('%Y') }}<|im_start|>", "qwen2")
    r = t.render(MSGS)
    assert not r.used_fallback and r.text[:4].isdigit()
