// A CloudFront Function (cloudfront-js-2.0, viewer request) in front of a bucket that
// `feeds export CORPUS s3://BUCKET/PREFIX` writes (with PREFIX as the origin path): the
// addresses and answers of `feeds serve`. A browser that opens a feed (Sec-Fetch-Dest:
// document) is given the feed's page; "/" is the index page; the export's own hidden files
// (its manifest, the open archives' markers) are not there for anyone. CloudFront caches by
// the rewritten URI, so readers and browsers never get each other's answer.
function handler(event) {
    var request = event.request;
    var uri = request.uri;
    if (uri.indexOf('/.') !== -1) {
        return { statusCode: 404, statusDescription: 'Not Found' };
    }
    var feed = /^(\/feeds\/.+)\.(rss|atom|json)$/.exec(uri);
    var dest = request.headers['sec-fetch-dest'];
    if (feed && dest && dest.value.trim().toLowerCase() === 'document') {
        request.uri = feed[1] + '.html';
    } else if (uri === '/') {
        request.uri = '/index.html';
    }
    return request;
}
