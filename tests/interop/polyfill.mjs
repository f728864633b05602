// Current js-libp2p declares Node >= 22 for Promise.withResolvers; Debian 12
// CI has Node 20 (or older), so provide it (loaded with `node --import`).
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
