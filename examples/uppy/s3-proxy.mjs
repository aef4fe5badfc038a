// A CORS layer in front of the local S3 server (s3s-fs), for development and tests only.
//
// Browsers upload straight to the bucket, so the bucket must answer CORS: on S3, R2 or MinIO
// that is `carcosa-edge bucket cors`. The local S3 server has no CORS at all (OPTIONS → 501) and
// returns a POST upload's ETag and Location only in its XML body, where real S3 also sends them
// as headers (Uppy 5 reads the headers). This proxy adds what those rules would: preflight
// answers, Access-Control-Allow-Origin, exposed ETag/Location, and copies them into headers.
// It keeps the Host header: `host` is part of every signature.
//
//   node s3-proxy.mjs --listen 9242 --target 127.0.0.1:9142
import http from "node:http";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: { listen: { type: "string" }, target: { type: "string" } },
});
if (!args.listen || !args.target) {
  console.error("usage: node s3-proxy.mjs --listen PORT --target HOST:PORT");
  process.exit(2);
}
const [targetHost, targetPort] = args.target.split(":");

const EXPOSED = "ETag, Location, x-amz-request-id";

function corsHeaders(req) {
  return {
    "access-control-allow-origin": req.headers.origin || "*",
    "access-control-expose-headers": EXPOSED,
    vary: "Origin",
  };
}

/// The text of `<name>` in an S3 XML answer.
function element(xml, name) {
  const m = xml.match(new RegExp(`<${name}>([^<]*)</${name}>`));
  return m ? m[1].replace(/&quot;/g, '"').replace(/&amp;/g, "&") : undefined;
}

const server = http.createServer((req, res) => {
  if (req.method === "OPTIONS") {
    res.writeHead(204, {
      ...corsHeaders(req),
      "access-control-allow-methods": "GET, PUT, POST, DELETE, HEAD",
      "access-control-allow-headers": req.headers["access-control-request-headers"] || "*",
      "access-control-max-age": "600",
    });
    res.end();
    return;
  }
  const upstream = http.request(
    { host: targetHost, port: targetPort, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      const headers = { ...answer.headers, ...corsHeaders(req) };
      const isPostUpload = req.method === "POST" && !req.url.includes("?") && answer.statusCode < 300;
      if (!isPostUpload) {
        res.writeHead(answer.statusCode, headers);
        answer.pipe(res);
        return;
      }
      // A POST-policy upload: copy ETag and Location from the XML body into headers.
      const chunks = [];
      answer.on("data", (c) => chunks.push(c));
      answer.on("end", () => {
        const body = Buffer.concat(chunks);
        const xml = body.toString("utf8");
        for (const [header, name] of [["etag", "ETag"], ["location", "Location"]]) {
          const value = element(xml, name);
          if (value && !headers[header]) headers[header] = value;
        }
        headers["content-length"] = String(body.length);
        delete headers["transfer-encoding"];
        res.writeHead(answer.statusCode, headers);
        res.end(body);
      });
    },
  );
  upstream.on("error", (e) => {
    res.writeHead(502, { "content-type": "text/plain", ...corsHeaders(req) });
    res.end(`the S3 server is unreachable: ${e.message}`);
  });
  req.pipe(upstream);
});

server.listen(Number(args.listen), "127.0.0.1", () => {
  console.log(`S3 CORS proxy: http://127.0.0.1:${args.listen} -> http://${args.target}`);
});
