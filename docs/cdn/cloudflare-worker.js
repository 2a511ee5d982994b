// A Cloudflare Worker in front of the public address of a bucket (an R2 bucket's, or any
// store's) that `feeds export CORPUS s3://BUCKET/PREFIX` writes: the addresses and answers
// of `feeds serve`. Set ORIGIN to the address that serves PREFIX. A browser that opens a
// feed (Sec-Fetch-Dest: document) is given the feed's page; "/" is the index page; the
// export's own hidden files (its manifest, the open archives' markers) are not there for
// anyone. Each answer is cached under the address fetched, so readers and browsers never
// get each other's.
const ORIGIN = "https://feeds-bucket.example.net";

export function originPath(path, secFetchDest) {
  if (path.includes("/.")) return null;
  const feed = /^(\/feeds\/.+)\.(rss|atom|json)$/.exec(path);
  if (feed && (secFetchDest || "").trim().toLowerCase() === "document") return `${feed[1]}.html`;
  return path === "/" ? "/index.html" : path;
}

export default {
  async fetch(request) {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", { status: 405, headers: { Allow: "GET, HEAD" } });
    }
    const url = new URL(request.url);
    const path = originPath(url.pathname, request.headers.get("Sec-Fetch-Dest"));
    if (path === null) return new Response("Not Found\n", { status: 404 });
    return fetch(ORIGIN + path, { method: request.method, headers: request.headers });
  },
};
