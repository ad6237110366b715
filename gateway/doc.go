// Package gateway serves every RPC of the qa.v1 services over HTTP/1.1 as
// JSON: POST /qa.v1.<Service>/<Method> with the request message in
// protojson, answered with the response message in protojson, or with an
// HTTP status and a JSON body naming the gRPC code, the message and the
// error details.
//
// The gateway holds no authorization of its own. It admits a call from its
// headers by the server's gate (server.Server.AdmitHTTP, the transport
// tap's check against the one permission table) before it reads the body,
// then forwards the call through the in-process gRPC connection, where the
// tap, the interceptors and the request guard run as for any gRPC client.
package gateway
