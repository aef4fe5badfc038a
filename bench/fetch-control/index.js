// The control for workerd's memory under outbound fetches: a Worker that does nothing but one
// fetch per request (RELIABILITY.md, "workerd's RSS with outbound fetches").
export default {
    async fetch(request, env) {
        const r = await fetch(env.TARGET, { method: "HEAD" });
        await r.arrayBuffer();
        return new Response(String(r.status));
    },
};
