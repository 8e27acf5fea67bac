// Chat templates rendered by @huggingface/jinja (the renderer transformers.js uses), the reference the C# renderer is
// compared with. Reads {"cases": [{template, variables}]} as JSON on standard input and writes one result per case,
// {"text": …} or {"error": …}, as a JSON array on standard output.
import { Template } from "@huggingface/jinja";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { cases } = JSON.parse(input);
const results = cases.map(({ template, variables }) => {
  try {
    return { text: new Template(template).render(variables) };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
});
process.stdout.write(JSON.stringify(results));
