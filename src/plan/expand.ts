// Kubernetes' $(VAR) expansion, exactly as the kubelet does it for env values, command and
// args: $(NAME) becomes NAME's value when NAME is defined and stays as written otherwise;
// $$ is an escaped $, so $$(NAME) gives the literal $(NAME); any other $ is kept.

export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i); // unterminated: kept as written
        break;
      }
      const name = input.slice(i + 2, close);
      const value = name ? lookup(name) : undefined;
      out += value ?? input.slice(i, close + 1);
      i = close;
      continue;
    }
    out += c;
  }
  return out;
}

/**
 * Resolves a container's env list in order: each value may refer to variables defined
 * before it in the same list (not to the image's env: Kubernetes does not expand those).
 * Later definitions of a name replace earlier ones.
 */
export interface EnvEntry {
  name: string;
  value: string;
  /** false for values that came from valueFrom/envFrom: Kubernetes expands only `value`. */
  expand?: boolean;
}

export function expandEnvList(entries: EnvEntry[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const { name, value, expand: ex } of entries) env.set(name, ex === false ? value : expand(value, (n) => env.get(n)));
  return env;
}
