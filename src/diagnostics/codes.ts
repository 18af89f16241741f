/**
 * The registry of diagnostic codes. Codes are stable: tools match on them.
 * SF00xx syntax, SF01xx names and structure, SF02xx shapes and dimension algebra,
 * SF2xxx lint warnings. `specformer explain CODE` prints the paragraph.
 */
export interface CodeInfo {
  readonly title: string;
  readonly explanation: string;
}

export const CODES = {
  SF0001: { title: "unexpected character", explanation: "The lexer met a character that cannot start any token of the spec language. Specs are plain text: identifiers, numbers, punctuation `{ } ( ) [ ] , : = ; + - * / % < > ×`, strings in double quotes, `#` line comments and `/* */` block comments." },
  SF0002: { title: "unterminated string", explanation: "A string literal opened with `\"` was not closed on the same line. Strings hold import paths and names; close them with a matching `\"`." },
  SF0003: { title: "unterminated block comment", explanation: "A `/*` block comment runs to the end of the file without a closing `*/`. Everything after it was ignored; close the comment." },
  SF0004: { title: "syntax error", explanation: "The parser expected one thing and found another. The message names both. The parser recovers and continues, so later errors in the same file are reported in the same run; fix the first one first, since it can cause the rest." },
  SF0005: { title: "invalid number", explanation: "A numeric literal is malformed or too large to be represented exactly. Dimensions are integers below 2^53; hyper-parameters such as `eps` may be decimals like `1e-5`." },
  SF0006: { title: "nesting too deep", explanation: "Parentheses, brackets or blocks are nested deeper than the compiler accepts (64 levels, counting runs of unary minus). No real spec needs this; the input is probably generated or corrupted." },
  SF0007: { title: "no model", explanation: "The file declares no `model`. A spec file holds one or more `model NAME { ... }` declarations; the last one is the file's entry model unless `--model` picks another." },
  SF0008: { title: "not a text file", explanation: "The file contains NUL bytes or invalid UTF-8, so it is not a spec. Check the path." },
  SF0009: { title: "cannot read file", explanation: "A spec file named on the command line, or by an `import \"path.sf\"`, cannot be read: it does not exist, is a directory, is not readable, or is larger than 1 MiB (1,048,576 bytes), the most a spec file may be (the limit keeps a stray `/dev/zero` or log file from being read forever). Import paths are relative to the importing file. `check` reports the file and goes on with the others; the exit code is then 2." },
  SF0101: { title: "unknown name", explanation: "A name is used in a dimension expression or as a reference but is never defined. Dims are defined in `dims { name = value }`; run-time dims such as `batch` and `seq` are introduced by `input` shapes. The message suggests the closest defined name." },
  SF0102: { title: "duplicate dim", explanation: "The same dim is defined twice in one `dims` block. Each dim has exactly one value; a model that `extends` another may override a parent's dim, which is not a duplicate." },
  SF0103: { title: "duplicate model", explanation: "Two models share a name in the files being checked (including imports). Model names must be unique so `extends` and `--model` are unambiguous." },
  SF0104: { title: "unknown base model", explanation: "`extends NAME` names a model that is not declared in this file or its imports." },
  SF0105: { title: "cyclic extends", explanation: "A model extends itself, directly or through other models. Inheritance must form a tree." },
  SF0106: { title: "cyclic dim definition", explanation: "A dim's value depends on itself, e.g. `a = b + 1, b = 2 * a`. Dims must be computable in some order." },
  SF0107: { title: "dim has no value", explanation: "A dim is declared without a value (a family parameter, `dims { d, heads }`) and the model being compiled never sets it. A model that extends the family must give it a value." },
  SF0108: { title: "unknown statement", explanation: "The statement keyword is not part of the language. Statements are: embed, position, norm, attention, mlp, dropout, stack, encoder, decoder, head, tokenizer, train." },
  SF0109: { title: "unknown argument", explanation: "A statement got a named argument it does not take. The message lists the arguments it accepts and suggests the closest one." },
  SF0110: { title: "missing argument", explanation: "A statement lacks an argument it requires, e.g. `attention` without `heads`." },
  SF0111: { title: "duplicate argument", explanation: "The same argument is given twice in one statement; only one value can apply." },
  SF0112: { title: "wrong kind of value", explanation: "An argument got a value of the wrong kind, e.g. a name where a dimension expression is needed, or a number where a choice like `causal` is expected." },
  SF0113: { title: "unknown option", explanation: "An argument or statement kind takes one of a fixed set of choices (an activation, a mask, a norm kind, a position encoding) and the value is not one of them. The message lists the choices and suggests the closest." },
  SF0114: { title: "unknown input", explanation: "A statement refers to an input (`embed NAME`, `padding = NAME`) that no `input` declaration introduces." },
  SF0115: { title: "duplicate input", explanation: "Two `input` declarations share a name." },
  SF0116: { title: "statement not allowed here", explanation: "The statement cannot appear in this position: sublayers (attention, mlp) live inside a `stack`; stacks live at the top level of a model or of an `encoder`/`decoder` section; sections cannot nest." },
  SF0117: { title: "missing statement", explanation: "A model lacks something every model needs: an `embed` for its token input, a `stack`, or an output `head`." },
  SF0118: { title: "import cycle", explanation: "Files import each other in a cycle. Imports must form a tree." },
  SF0119: { title: "duplicate statement", explanation: "A statement that may appear once per model or section appears twice, e.g. two `position` encodings, two `head`s, or two `embed`s of the same input in one section (the second would be a second table under the same weight name), the encoder's input embedded again by the decoder (a decoder reads its own input; `tie = INPUT` shares the encoder's table), or two stacks of one name in a section (the name prefixes their weights)." },
  SF0120: { title: "statement before embed", explanation: "In a section, `position`, `norm` and `dropout` act on the embedded stream, so they must come after the section's first `embed`: before it there is nothing to add positions to or to normalise." },
  SF0121: { title: "tokenizer does not fit the vocab", explanation: "`tokenizer byte` encodes text as its UTF-8 bytes, ids 0-255, plus id 256 for end of text when the vocab has room: the model's vocab (its head's output size) must be 256 or 257. Use another tokenizer, or set the vocab to 256 or 257." },
  SF0201: { title: "inexact division", explanation: "A dimension expression divides two integers that do not divide evenly. Shapes need whole numbers: `d / heads` needs d to be a multiple of heads. The message shows both operands and their values." },
  SF0202: { title: "non-positive dim", explanation: "A dimension evaluates to zero or a negative number. Every size in a model must be at least 1." },
  SF0203: { title: "heads not divisible by kv_heads", explanation: "Grouped-query attention shares each key/value head among `heads / kv_heads` query heads, so heads must be a multiple of kv_heads. kv_heads = heads is multi-head attention, kv_heads = 1 is multi-query attention." },
  SF0204: { title: "dim too large", explanation: "A dimension evaluates beyond 2^53, where integers stop being exact. This is almost certainly a typo." },
  SF0205: { title: "invalid bound", explanation: "An input's `where` clause must bound a run-time dim by an expression of known dims, e.g. `where seq <= context`, and the bound must allow at least 1 (`seq <= 0` or `seq < 1` leaves no length the model could run at). The bound given cannot be evaluated, is below 1, or constrains something that is not a run-time dim of that input." },
  SF0206: { title: "odd rotary dimension", explanation: "RoPE rotates pairs of channels, so the number of rotated channels per head (head_dim × fraction) must be a whole, even number." },
  SF0207: { title: "window larger than context", explanation: "A sliding-window attention's window is larger than the declared context, so no query ever sees the window's edge: the layer is ordinary attention with extra cost. Make the window smaller than the context or drop it." },
  SF0208: { title: "cross-attention width mismatch", explanation: "Cross-attention projects the encoder's output (the memory) to keys and values. The memory's width must equal the `memory_dim` the layer declares (by default the decoder's width)." },
  SF0209: { title: "sequence longer than position table", explanation: "Learned positions are a table of fixed length; the input's sequence bound must not exceed it. Bound the sequence (`where seq <= context`) by at most the table length." },
  SF0210: { title: "width mismatch", explanation: "Two parts of the model disagree on the width of the residual stream, e.g. an embedding of width 512 followed by layers expecting 768, or a tied head whose embedding has another width." },
  SF0211: { title: "not a whole number", explanation: "A size computed from a fraction (such as RoPE's rotary fraction times head_dim) is not a whole number." },
  SF0212: { title: "sparse block does not divide context", explanation: "Block-sparse and strided attention tile the sequence into blocks; the context must be a whole number of blocks." },
  SF0213: { title: "incompatible attention options", explanation: "Some attention options exclude each other: linear attention has no score matrix, so it takes no window, sparsity pattern, ALiBi bias, score `scale` or `softcap`; a window and a sparsity pattern cannot both apply." },
  SF0214: { title: "bad input shape", explanation: "A token input must be `int[batch, seq]`; a padding mask (`padding = NAME`) must be `bool[batch, seq]` with the same dims as the tokens whose keys it masks: this section's tokens for `attention self`, the encoder's for `attention cross`. Inputs are token ids (`int`) or masks (`bool`): no backend takes `f32` inputs. A sequence axis is a run-time dim, never a fixed number: a fixed length is written as a bound, `int[batch, seq] where seq <= 16`." },
  SF0215: { title: "norm placement", explanation: "In a pre-norm stack (the default) each `norm` applies to the sublayer after it; in a post-norm stack (`norm = post`) to the sublayer before it. A norm with no sublayer to pair with, or two norms for one sublayer, is an error." },
  SF0216: { title: "cross-attention without encoder", explanation: "`attention cross` attends to an encoder's output, but the model has no `encoder` section to provide one." },
  SF0217: { title: "value out of range", explanation: "A hyper-parameter is outside its meaningful range: a probability not in [0, 1), an eps that is not a positive number, a RoPE base not above 1, a fraction not in (0, 1], an attention `scale` or `softcap` or a RoPE scaling factor that is not a positive number. Every real value must also survive the f32 arithmetic the backends run in: `eps = 1e300` is infinite in f32 and `eps = 1e-50` is zero there, so both are errors." },
  SF0218: { title: "model too large", explanation: "The model is past what any target can build or hold: more than 4,096 layers over all its stacks (the deepest published models have about 100; each layer is its own weights and code), or more than 2^44 bytes (16 TiB) of weights at 4 bytes a parameter, the f32 every backend holds them in, which is past the memory of the largest single machine. The message gives the layer, parameter and byte counts; a dim is probably mistyped. Each backend has its own, smaller limits too, e.g. 4 GiB of Wasm memory, which `build` reports." },
  SF0240: { title: "RoPE scaling bands out of order", explanation: "`scaling = llama3(factor, low_freq_factor, high_freq_factor, original_context)` (Hugging Face's `rope_type: llama3`) keeps RoPE frequencies whose wavelength is below original_context / high_freq_factor, divides those above original_context / low_freq_factor by factor, and blends the ones between, dividing by high_freq_factor − low_freq_factor. low_freq_factor must therefore be strictly below high_freq_factor (Llama 3.1: 1 and 4)." },
  SF2001: { title: "quadratic attention memory", explanation: "Full softmax attention materialises (or, fused, streams) a heads × seq × seq score matrix. At the declared context the warning states how many bytes one layer's scores take in f32 for batch 1. Consider a sliding window, block-sparse or linear attention if long contexts matter. A model that means it (LLaMA 2 at 4096) acknowledges the warning with `lint(allow = [SF2001])`, which any warning code accepts." },
  SF2002: { title: "head dim not a multiple of 4", explanation: "Both backends vectorise over 4 lanes (Wasm SIMD128, WGSL vec4). A head dim that is not a multiple of 4 runs on every target, only less efficiently: WGSL attention falls back to scalar loops, and the Wasm attention kernels end each head with a partial vector (narrower loads, lane-by-lane stores, idle lanes)." },
  SF2003: { title: "unused dim", explanation: "A dim is defined but nothing uses it. It may be a typo for a dim that is used, or left over from an edit." },
  SF2004: { title: "encoder output unused", explanation: "The model has an encoder but no cross-attention layer reads its output, so the encoder's work is discarded." },
  SF2005: { title: "no final norm", explanation: "A pre-norm stack leaves the residual stream un-normalised; pre-norm models (GPT-2, LLaMA) apply one final norm before the head. Without it the logits' scale grows with depth." },
  SF2006: { title: "suspicious eps", explanation: "A norm's eps is larger than 0.1, so it dominates the variance of small activations. Typical values are 1e-5 or 1e-6. (An eps that is zero, negative or not finite in f32 is an error, SF0217.)" },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;

export function explain(code: string): CodeInfo | undefined {
  return (CODES as Record<string, CodeInfo>)[code.toUpperCase()];
}
