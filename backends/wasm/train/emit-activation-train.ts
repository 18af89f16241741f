// Elementwise activations for training on Wasm SIMD: act(x) for the forward (emit-math.ts's
// activationV, the inference epilogue's own formula) and dy · act'(x) for the backward, the
// derivatives PyTorch's autograd uses:
//   relu       1 where x > 0, else 0 (0 at x = 0, as torch)
//   gelu       Φ(x) + x φ(x)
//   gelu_tanh  ½(1 + t) + ½ x (1 − t²) k (1 + 3·0.044715 x²),  t = tanh(k (x + 0.044715 x³)), k = √(2/π)
//   silu       s (1 + x (1 − s)),  s = sigmoid(x)
// Both run over whole vectors: n is rounded up to a multiple of 4 and the caller leaves slack.

import { activationV, type Act, erfV, expV } from "../emit-math.ts";
import { type EmitFlags, Func, get, madd, set, splat } from "../wat.ts";

const v = (op: string, ...args: string[]): string => `(f32x4.${op} ${args.join(" ")})`;

/** out = act'(x). */
function derivativeV(f: Func, fl: EmitFlags, act: Act, out: string, x: string): string {
  f.local("v128", out, "t", "u", "w");
  switch (act) {
    case "relu":
      return set(out, `(v128.and ${splat(1)} ${v("gt", get(x), splat(0))})`);
    case "gelu":
      return [
        set("u", v("mul", get(x), splat(Math.SQRT1_2))),
        erfV(f, fl, "e", "u"),
        set("w", v("mul", v("mul", get(x), get(x)), splat(-0.5))),
        expV(f, fl, "p", "w"),
        set(out, madd(fl, v("mul", get(x), splat(1 / Math.sqrt(2 * Math.PI))), get("p"), v("mul", v("add", get("e"), splat(1)), splat(0.5)))),
      ].join("\n");
    case "gelu_tanh": {
      const k = Math.sqrt(2 / Math.PI);
      return [
        set("w", v("mul", get(x), get(x))),
        set("u", v("mul", v("mul", get(x), splat(2 * k)), madd(fl, get("w"), splat(0.044715), splat(1)))),
        expV(f, fl, "p", "u"),
        // t = tanh(u/2·2) = 1 − 2 / (1 + e^(2u)); u above already holds 2·k(x + 0.044715 x³).
        set("t", v("sub", splat(1), v("div", splat(2), v("add", get("p"), splat(1))))),
        set(
          out,
          v(
            "add",
            v("mul", v("add", get("t"), splat(1)), splat(0.5)),
            v("mul", v("mul", v("mul", get(x), splat(0.5 * k)), v("sub", splat(1), v("mul", get("t"), get("t")))), madd(fl, get("w"), splat(3 * 0.044715), splat(1))),
          ),
        ),
      ].join("\n");
    }
    case "silu":
      return [
        set("u", v("neg", get(x))),
        expV(f, fl, "p", "u"),
        set("t", v("div", splat(1), v("add", get("p"), splat(1)))),
        set(out, v("mul", get("t"), madd(fl, get(x), v("sub", splat(1), get("t")), splat(1)))),
      ].join("\n");
  }
}

/** A loop over n (rounded up to 4) elements of `bufs`, setting $x from the first, storing $y. */
function loop(f: Func, body: string, store: string): string {
  f.local("i32", "i", "end");
  return `
  (local.set $end (i32.shl (i32.and (i32.add ${get("n")} (i32.const 3)) (i32.const -4)) (i32.const 2)))
  (local.set $i (i32.const 0))
  (block $B (loop $L (br_if $B (i32.ge_u ${get("i")} ${get("end")}))
    ${body}
    ${store}
    (local.set $i (i32.add ${get("i")} (i32.const 16))) (br $L)))`;
}

/** (func $act_fwd (param $x $y $n)): y = act(x). */
export function emitActivationForward(fl: EmitFlags, act: Act): string {
  const f = new Func("act_fwd", ["x", "y", "n"], undefined, `${act} forward`);
  f.local("v128", "xin");
  return f.text(loop(f, `${set("xin", `(v128.load (i32.add ${get("x")} ${get("i")}))`)}\n${activationV(f, fl, act, "r", "xin")}`, `(v128.store (i32.add ${get("y")} ${get("i")}) ${get("r")})`));
}

/** (func $act_grad (param $dy $x $dx $n)): dx = dy · act'(x). */
export function emitActivationGrad(fl: EmitFlags, act: Act): string {
  const f = new Func("act_grad", ["dy", "x", "dx", "n"], undefined, `${act} derivative`);
  f.local("v128", "xin");
  return f.text(
    loop(
      f,
      `${set("xin", `(v128.load (i32.add ${get("x")} ${get("i")}))`)}\n${derivativeV(f, fl, act, "r", "xin")}`,
      `(v128.store (i32.add ${get("dx")} ${get("i")}) (f32x4.mul ${get("r")} (v128.load (i32.add ${get("dy")} ${get("i")}))))`,
    ),
  );
}
