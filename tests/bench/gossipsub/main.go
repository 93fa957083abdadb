// Command gossipsub-bench measures go-libp2p-pubsub's gossipsub on the
// workloads of noded's `tools/cluster bench` (issue 11), one process per
// node on 127.0.0.1, so that the two can be put side by side.
//
//	gossipsub-bench run -n 32 --edges 1-2,1-7,... --rate 20 --count 200 --json
//	gossipsub-bench run -n 4 --edges 1-2,1-3,1-4,2-3,2-4,3-4 --rate 0 --count 5000
//
// run signs COUNT messages of SIZE bytes in advance (an Ed25519 key of its
// own: 32-byte key, 64-byte signature, 8-byte sequence number, filler),
// starts one child process per node (`gossipsub-bench node ...`, driven over
// its stdin and stdout), waits until every node has grafted every neighbour
// into its mesh, then has the entry node publish: at RATE a second, the nodes
// in turn, or with --rate 0 node 1 as fast as it publishes.  Every node
// verifies the signature once per message in a topic validator, and notes
// the time of its acceptance (the validator's success, its own wall clock;
// all nodes share this machine's clock).  Reported, as tools/cluster bench
// does: p50/p90/p99/max from acceptance at the entry to acceptance at each
// node and at the last node, the delivered fraction, full copies of a
// message received per node (RPC publish entries) and bytes received per
// node on the wire (TCP payload, under noise and yamux) per message it had
// to receive, and messages on all nodes per second.
//
// gossipsub runs with its defaults but for what it needs to deliver every
// message: no per-message signature of its own (StrictNoSign: the one verify
// is the validator's), a content id (SHA-256 of the data), and its queues
// raised (peer outbound queue, validate queue and throttle, subscription
// buffer).
package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/transport"
	ma "github.com/multiformats/go-multiaddr"
	mafmt "github.com/multiformats/go-multiaddr-fmt"
	manet "github.com/multiformats/go-multiaddr/net"
)

const (
	topicName = "noded-bench"
	hdrLen    = 32 + 64 + 8 // key, signature, sequence number
	queueSize = 1 << 16     // outbound, validate and subscription queues
)

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gossipsub-bench: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		die("usage: gossipsub-bench run|node [options] (run -h for options)")
	}
	switch os.Args[1] {
	case "run":
		cmdRun(os.Args[2:])
	case "node":
		cmdNode(os.Args[2:])
	default:
		die("%q: not run or node", os.Args[1])
	}
}

// ---------------------------------------------------------------- keys

// nodeKey is node k's identity, derived from k so every node knows every
// other node's peer id without asking.
func nodeKey(k int) crypto.PrivKey {
	seed := sha256.Sum256([]byte("gossipsub-bench node " + strconv.Itoa(k)))
	priv, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		die("node %d key: %v", k, err)
	}
	return priv
}

func nodeID(k int) peer.ID {
	id, err := peer.IDFromPrivateKey(nodeKey(k))
	if err != nil {
		die("node %d id: %v", k, err)
	}
	return id
}

func nodeAddr(base, k int) ma.Multiaddr {
	return ma.StringCast(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", base+k))
}

// ---------------------------------------------------------------- transport

// countTransport is TCP with every connection's reads counted: the bytes
// received on the wire, below noise and yamux, as noded counts its own.
type countTransport struct {
	up    transport.Upgrader
	rcmgr network.ResourceManager
}

var wireBytes atomic.Int64

type countConn struct{ manet.Conn }

func (c countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	wireBytes.Add(int64(n))
	return n, err
}

type countListener struct{ manet.Listener }

func (l countListener) Accept() (manet.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countConn{c}, nil
}

func newCountTransport(up transport.Upgrader, rcmgr network.ResourceManager) (*countTransport, error) {
	return &countTransport{up: up, rcmgr: rcmgr}, nil
}

func (t *countTransport) Dial(ctx context.Context, raddr ma.Multiaddr, p peer.ID) (transport.CapableConn, error) {
	scope, err := t.rcmgr.OpenConnection(network.DirOutbound, true, raddr)
	if err != nil {
		return nil, err
	}
	if err := scope.SetPeer(p); err != nil {
		scope.Done()
		return nil, err
	}
	var d manet.Dialer
	c, err := d.DialContext(ctx, raddr)
	if err != nil {
		scope.Done()
		return nil, err
	}
	cc, err := t.up.Upgrade(ctx, t, countConn{c}, network.DirOutbound, p, scope)
	if err != nil {
		scope.Done()
		return nil, err
	}
	return cc, nil
}

func (t *countTransport) CanDial(addr ma.Multiaddr) bool { return mafmt.TCP.Matches(addr) }

func (t *countTransport) Listen(laddr ma.Multiaddr) (transport.Listener, error) {
	l, err := manet.Listen(laddr)
	if err != nil {
		return nil, err
	}
	return t.up.UpgradeGatedMaListener(t, t.up.GateMaListener(countListener{l})), nil
}

func (t *countTransport) Protocols() []int { return []int{ma.P_TCP} }
func (t *countTransport) Proxy() bool      { return false }
func (t *countTransport) String() string   { return "counting TCP" }

// ---------------------------------------------------------------- tracer

// tracer counts full copies received (publish entries of incoming RPCs) and
// the peers in this node's mesh.
type tracer struct {
	copies atomic.Int64
	mu     sync.Mutex
	mesh   map[peer.ID]bool
}

func (t *tracer) inMesh(p peer.ID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mesh[p]
}

func (t *tracer) meshSize() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return int64(len(t.mesh))
}

func (t *tracer) setMesh(p peer.ID, in bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if in {
		t.mesh[p] = true
	} else {
		delete(t.mesh, p)
	}
}

func (t *tracer) RecvRPC(rpc *pubsub.RPC)                     { t.copies.Add(int64(len(rpc.GetPublish()))) }
func (t *tracer) Graft(p peer.ID, topic string)               { t.setMesh(p, true) }
func (t *tracer) Prune(p peer.ID, topic string)               { t.setMesh(p, false) }
func (t *tracer) AddPeer(p peer.ID, proto protocol.ID)        {}
func (t *tracer) RemovePeer(p peer.ID)                        { t.setMesh(p, false) }
func (t *tracer) OnNewOutboundStream(peer.ID, protocol.ID)    {}
func (t *tracer) OnClosedOutboundStream(peer.ID)              {}
func (t *tracer) Join(topic string)                           {}
func (t *tracer) Leave(topic string)                          {}
func (t *tracer) ValidateMessage(msg *pubsub.Message)         {}
func (t *tracer) DeliverMessage(msg *pubsub.Message)          {}
func (t *tracer) RejectMessage(msg *pubsub.Message, r string) {}
func (t *tracer) DuplicateMessage(msg *pubsub.Message)        {}
func (t *tracer) ThrottlePeer(p peer.ID)                      {}
func (t *tracer) SendRPC(rpc *pubsub.RPC, p peer.ID)          {}
func (t *tracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {
}
func (t *tracer) DropRPC(rpc *pubsub.RPC, p peer.ID) {
	fmt.Fprintf(os.Stderr, "gossipsub-bench: outbound RPC dropped (queue full)\n")
}
func (t *tracer) UndeliverableMessage(msg *pubsub.Message) {}

// ---------------------------------------------------------------- node

type node struct {
	index   int
	msgs    [][]byte       // the pre-signed messages, by sequence number
	seen    []atomic.Int64 // acceptance time (unix µs) by sequence number
	nseen   atomic.Int64
	topic   *pubsub.Topic
	tr      *tracer
	outMu   sync.Mutex
	out     *bufio.Writer
	invalid atomic.Int64
}

func (n *node) reply(format string, args ...any) {
	n.outMu.Lock()
	fmt.Fprintf(n.out, format+"\n", args...)
	n.out.Flush()
	n.outMu.Unlock()
}

// validate is the one Ed25519 verify per message, and the acceptance time.
func (n *node) validate(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	d := m.GetData()
	if len(d) < hdrLen || !ed25519.Verify(d[:32], d[96:], d[32:96]) {
		n.invalid.Add(1)
		return pubsub.ValidationReject
	}
	now := time.Now().UnixMicro()
	seq := binary.BigEndian.Uint64(d[96:104])
	if seq < uint64(len(n.seen)) && n.seen[seq].CompareAndSwap(0, now) {
		n.nseen.Add(1)
	}
	return pubsub.ValidationAccept
}

func msgID(m *pb.Message) string {
	h := sha256.Sum256(m.GetData())
	return string(h[:])
}

func readMsgs(path string, size int) [][]byte {
	raw, err := os.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	if size < hdrLen || len(raw)%size != 0 {
		die("%s: %d bytes, not a multiple of --size %d", path, len(raw), size)
	}
	var msgs [][]byte
	for i := 0; i < len(raw); i += size {
		msgs = append(msgs, raw[i:i+size])
	}
	return msgs
}

func cmdNode(args []string) {
	fs := flag.NewFlagSet("node", flag.ExitOnError)
	index := fs.Int("index", 0, "this node's number, 1..N")
	base := fs.Int("base-port", 28000, "node k listens on 127.0.0.1:BASE+k")
	dial := fs.String("dial", "", "comma-separated node numbers to dial")
	degree := fs.Int("degree", 0, "neighbours to wait for in the mesh")
	msgFile := fs.String("msgs", "", "file of pre-signed messages")
	size := fs.Int("size", 187, "bytes per message")
	fs.Parse(args)
	if *index < 1 {
		die("node: --index is required")
	}
	n := &node{index: *index, msgs: readMsgs(*msgFile, *size), tr: &tracer{mesh: map[peer.ID]bool{}},
		out: bufio.NewWriter(os.Stdout)}
	n.seen = make([]atomic.Int64, len(n.msgs))
	ctx := context.Background()

	h, err := libp2p.New(
		libp2p.Identity(nodeKey(*index)),
		libp2p.ListenAddrs(nodeAddr(*base, *index)),
		libp2p.Transport(newCountTransport),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.DisableRelay(),
		libp2p.Ping(false),
	)
	if err != nil {
		die("node %d: %v", *index, err)
	}
	ps, err := pubsub.NewGossipSub(ctx, h,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(msgID),
		pubsub.WithPeerOutboundQueueSize(queueSize),
		pubsub.WithValidateQueueSize(queueSize),
		pubsub.WithValidateThrottle(queueSize),
		pubsub.WithRawTracer(n.tr),
	)
	if err != nil {
		die("node %d: gossipsub: %v", *index, err)
	}
	if err := ps.RegisterTopicValidator(topicName, n.validate,
		pubsub.WithValidatorConcurrency(queueSize)); err != nil {
		die("node %d: validator: %v", *index, err)
	}
	if n.topic, err = ps.Join(topicName); err != nil {
		die("node %d: join: %v", *index, err)
	}
	sub, err := n.topic.Subscribe(pubsub.WithBufferSize(queueSize))
	if err != nil {
		die("node %d: subscribe: %v", *index, err)
	}
	go func() {
		for {
			if _, err := sub.Next(ctx); err != nil {
				return
			}
		}
	}()

	var dialed []int
	for _, s := range strings.Split(*dial, ",") {
		if s == "" {
			continue
		}
		j, err := strconv.Atoi(s)
		if err != nil {
			die("node %d: --dial %q: %v", *index, s, err)
		}
		dialed = append(dialed, j)
		go func(j int) {
			ai := peer.AddrInfo{ID: nodeID(j), Addrs: []ma.Multiaddr{nodeAddr(*base, j)}}
			deadline := time.Now().Add(60 * time.Second)
			for {
				err := h.Connect(ctx, ai)
				if err == nil {
					return
				}
				if time.Now().After(deadline) {
					die("node %d: cannot dial node %d: %v", *index, j, err)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}(j)
	}
	// Ready once every neighbour is in this node's mesh.  On a loaded
	// machine a new connection's identify or first pubsub stream can fail,
	// and the peer is then never a pubsub peer: a link this node dialled
	// that is still out of its mesh after 10 s is closed and dialled again.
	go func() {
		start := time.Now()
		lastRepair := start
		for n.tr.meshSize() < int64(*degree) {
			time.Sleep(50 * time.Millisecond)
			if time.Since(start) < 10*time.Second || time.Since(lastRepair) < 10*time.Second {
				continue
			}
			lastRepair = time.Now()
			for _, j := range dialed {
				id := nodeID(j)
				if n.tr.inMesh(id) {
					continue
				}
				fmt.Fprintf(os.Stderr, "gossipsub-bench: node %d: node %d not in its mesh after %.0f s: redialling\n",
					*index, j, time.Since(start).Seconds())
				h.Network().ClosePeer(id)
				h.Connect(ctx, peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{nodeAddr(*base, j)}})
			}
		}
		n.reply("ready %d", *index)
	}()

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "p": // publish message i
			i, _ := strconv.Atoi(f[1])
			n.publish(ctx, i)
		case "burst": // publish messages a..b-1 as fast as they go
			a, _ := strconv.Atoi(f[1])
			b, _ := strconv.Atoi(f[2])
			go n.burst(ctx, a, b)
		case "stat":
			n.reply("stat %d %d %d %d %d", n.nseen.Load(), wireBytes.Load(),
				n.tr.copies.Load(), n.tr.meshSize(), len(h.Network().Peers()))
		case "dump":
			ts := make([]int64, len(n.seen))
			for i := range n.seen {
				ts[i] = n.seen[i].Load()
			}
			b, _ := json.Marshal(ts)
			n.reply("dump %s", b)
		case "quit":
			h.Close()
			os.Exit(0)
		}
	}
	h.Close()
}

func (n *node) publish(ctx context.Context, i int) {
	if i < 0 || i >= len(n.msgs) {
		return
	}
	if err := n.topic.Publish(ctx, n.msgs[i]); err != nil {
		fmt.Fprintf(os.Stderr, "gossipsub-bench: node %d: publish %d: %v\n", n.index, i, err)
	}
}

// burst publishes a..b-1 from as many goroutines as there are cores (each
// publish verifies the message in the caller before it leaves).
func (n *node) burst(ctx context.Context, a, b int) {
	var next atomic.Int64
	next.Store(int64(a))
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= b {
					return
				}
				n.publish(ctx, i)
			}
		}()
	}
	wg.Wait()
}

// ---------------------------------------------------------------- run

type child struct {
	k   int
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
	mu  sync.Mutex
}

func (c *child) send(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		die("node %d: %v", c.k, err)
	}
}

// ask sends a command and reads its one-line answer, which starts with the
// command's name.
func (c *child) ask(cmd string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		die("node %d: %v", c.k, err)
	}
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			die("node %d: no answer to %s: %v", c.k, cmd, err)
		}
		f := strings.SplitN(strings.TrimSpace(line), " ", 2)
		if f[0] == cmd {
			return f
		}
	}
}

type stat struct{ seen, bytes, copies, mesh, peers int64 }

func (c *child) stat() stat {
	f := strings.Fields(c.ask("stat")[1])
	var s stat
	s.seen, _ = strconv.ParseInt(f[0], 10, 64)
	s.bytes, _ = strconv.ParseInt(f[1], 10, 64)
	s.copies, _ = strconv.ParseInt(f[2], 10, 64)
	s.mesh, _ = strconv.ParseInt(f[3], 10, 64)
	s.peers, _ = strconv.ParseInt(f[4], 10, 64)
	return s
}

func percentiles(xs []float64) map[string]*float64 {
	out := map[string]*float64{"p50": nil, "p90": nil, "p99": nil, "max": nil}
	if len(xs) == 0 {
		return out
	}
	sort.Float64s(xs)
	for _, q := range []struct {
		k string
		v float64
	}{{"p50", .5}, {"p90", .9}, {"p99", .99}, {"max", 1}} {
		i := int(q.v * float64(len(xs)))
		if i > len(xs)-1 {
			i = len(xs) - 1
		}
		v := xs[i]
		out[q.k] = &v
	}
	return out
}

func parseEdges(s string, n int) [][2]int {
	var edges [][2]int
	for _, e := range strings.Split(s, ",") {
		if e == "" {
			continue
		}
		ab := strings.SplitN(e, "-", 2)
		if len(ab) != 2 {
			die("--edges %q: expected A-B", e)
		}
		a, err1 := strconv.Atoi(ab[0])
		b, err2 := strconv.Atoi(ab[1])
		if err1 != nil || err2 != nil || a < 1 || b < 1 || a > n || b > n || a == b {
			die("--edges %q: nodes are 1..%d", e, n)
		}
		if a > b {
			a, b = b, a
		}
		edges = append(edges, [2]int{a, b})
	}
	return edges
}

func cmdRun(args []string) {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	nn := fs.Int("n", 4, "nodes")
	edgeArg := fs.String("edges", "", "links A-B,... (node B dials A); default: full mesh")
	rate := fs.Float64("rate", 20, "messages a second, the nodes in turn; 0: node 1 as fast as it publishes")
	count := fs.Int("count", 200, "messages")
	size := fs.Int("size", 187, "bytes per message (>= 104)")
	base := fs.Int("base-port", 28000, "node k listens on 127.0.0.1:BASE+k")
	asJSON := fs.Bool("json", false, "print JSON")
	timeout := fs.Duration("timeout", 90*time.Second, "time allowed to connect and graft")
	fs.Parse(args)
	n := *nn
	if n < 2 || n > 200 || *count < 1 || *size < hdrLen || *rate < 0 {
		die("run: need 2 <= -n <= 200, --count >= 1, --size >= %d, --rate >= 0", hdrLen)
	}
	var edges [][2]int
	if *edgeArg == "" {
		for a := 1; a <= n; a++ {
			for b := a + 1; b <= n; b++ {
				edges = append(edges, [2]int{a, b})
			}
		}
	} else {
		edges = parseEdges(*edgeArg, n)
	}
	degree := make([]int, n+1)
	dials := make([][]string, n+1)
	for _, e := range edges {
		degree[e[0]]++
		degree[e[1]]++
		dials[e[1]] = append(dials[e[1]], strconv.Itoa(e[0]))
	}
	for k := 1; k <= n; k++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *base+k))
		if err != nil {
			die("port %d: %v", *base+k, err)
		}
		l.Close()
	}

	// the messages, signed in advance
	tmp, err := os.MkdirTemp("", "gossipsub-bench-")
	if err != nil {
		die("%v", err)
	}
	defer os.RemoveAll(tmp)
	seed := sha256.Sum256([]byte("gossipsub-bench sender"))
	sk := ed25519.NewKeyFromSeed(seed[:])
	raw := make([]byte, 0, *count**size)
	for i := 0; i < *count; i++ {
		m := make([]byte, *size)
		copy(m, sk.Public().(ed25519.PublicKey))
		binary.BigEndian.PutUint64(m[96:104], uint64(i))
		for j := 104; j < *size; j++ {
			m[j] = byte(i*7 + j)
		}
		copy(m[32:96], ed25519.Sign(sk, m[96:]))
		raw = append(raw, m...)
	}
	msgPath := filepath.Join(tmp, "msgs")
	if err := os.WriteFile(msgPath, raw, 0o600); err != nil {
		die("%v", err)
	}

	self, err := os.Executable()
	if err != nil {
		die("%v", err)
	}
	kids := make([]*child, n+1)
	defer func() {
		for _, c := range kids {
			if c != nil && c.cmd.Process != nil {
				c.cmd.Process.Kill()
				c.cmd.Wait()
			}
		}
	}()
	t0 := time.Now()
	for k := 1; k <= n; k++ {
		cmd := exec.Command(self, "node", "-index", strconv.Itoa(k),
			"-base-port", strconv.Itoa(*base), "-dial", strings.Join(dials[k], ","),
			"-degree", strconv.Itoa(degree[k]), "-msgs", msgPath, "-size", strconv.Itoa(*size))
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			die("%v", err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			die("%v", err)
		}
		if err := cmd.Start(); err != nil {
			die("node %d: %v", k, err)
		}
		kids[k] = &child{k: k, cmd: cmd, in: in, out: bufio.NewReader(out)}
	}
	ready := make(chan int, n)
	for k := 1; k <= n; k++ {
		go func(c *child) {
			for {
				line, err := c.out.ReadString('\n')
				if err != nil {
					die("node %d exited before it was ready", c.k)
				}
				if strings.HasPrefix(line, "ready") {
					ready <- c.k
					return
				}
			}
		}(kids[k])
	}
	isReady := make([]bool, n+1)
	for i := 0; i < n; i++ {
		select {
		case k := <-ready:
			isReady[k] = true
		case <-time.After(*timeout - time.Since(t0)):
			var late []string
			for k := 1; k <= n; k++ {
				if !isReady[k] {
					late = append(late, fmt.Sprintf("node %d (degree %d)", k, degree[k]))
				}
			}
			die("not every node grafted its neighbours within %v: %s", *timeout,
				strings.Join(late, ", "))
		}
	}
	fmt.Fprintf(os.Stderr, "gossipsub-bench: %d nodes, %d links, meshes formed in %.1f s\n",
		n, len(edges), time.Since(t0).Seconds())

	before := make([]stat, n+1)
	for k := 1; k <= n; k++ {
		before[k] = kids[k].stat()
	}
	entry := make([]int, *count) // message -> entry node
	start := time.Now()
	if *rate > 0 {
		for i := 0; i < *count; i++ {
			entry[i] = 1 + i%n
			kids[entry[i]].send("p " + strconv.Itoa(i))
			d := time.Until(start.Add(time.Duration(float64(i+1) / *rate * float64(time.Second))))
			if d > 0 {
				time.Sleep(d)
			}
		}
	} else {
		for i := range entry {
			entry[i] = 1
		}
		kids[1].send(fmt.Sprintf("burst 0 %d", *count))
	}
	sendS := time.Since(start).Seconds()
	// until every node has every message, or nothing moved for 5 s
	last, lastN := time.Now(), int64(-1)
	after := make([]stat, n+1)
	for {
		var have int64
		for k := 1; k <= n; k++ {
			after[k] = kids[k].stat()
			have += after[k].seen
		}
		if have >= int64(*count*n) {
			break
		}
		if have != lastN {
			last, lastN = time.Now(), have
		} else if time.Since(last) > 5*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	seen := make([][]int64, n+1)
	for k := 1; k <= n; k++ {
		after[k] = kids[k].stat()
		if err := json.Unmarshal([]byte(kids[k].ask("dump")[1]), &seen[k]); err != nil {
			die("node %d: dump: %v", k, err)
		}
		kids[k].send("quit")
	}

	// the same figures as tools/cluster bench
	var lat, lastNode []float64
	var missing, accepted int
	var firstEntry, lastSeen int64
	for i := 0; i < *count; i++ {
		te := seen[entry[i]][i]
		if te == 0 {
			missing += n
			continue
		}
		accepted++
		if firstEntry == 0 || te < firstEntry {
			firstEntry = te
		}
		worst := 0.0
		for k := 1; k <= n; k++ {
			ts := seen[k][i]
			if ts == 0 {
				missing++
				continue
			}
			if ts > lastSeen {
				lastSeen = ts
			}
			if k != entry[i] {
				ms := float64(ts-te) / 1000
				lat = append(lat, ms)
				if ms > worst {
					worst = ms
				}
			}
		}
		lastNode = append(lastNode, worst)
	}
	var dBytes, dCopies int64
	for k := 1; k <= n; k++ {
		dBytes += after[k].bytes - before[k].bytes
		dCopies += after[k].copies - before[k].copies
	}
	needed := float64(accepted * (n - 1))
	if needed < 1 {
		needed = 1
	}
	pairs := float64(*count * n)
	res := map[string]any{
		"implementation":             "go-libp2p-pubsub v0.19.0 gossipsub",
		"nodes":                      n,
		"links":                      len(edges),
		"count":                      *count,
		"accepted":                   accepted,
		"rate":                       *rate,
		"size":                       *size,
		"send_seconds":               sendS,
		"delivered":                  (pairs - float64(missing)) / pairs,
		"to_each_node_ms":            percentiles(lat),
		"to_last_node_ms":            percentiles(lastNode),
		"copies_per_node":            float64(dCopies) / needed,
		"bytes_received_per_node":    float64(dBytes) / needed,
		"bytes_received_per_tx_byte": float64(dBytes) / needed / float64(*size),
	}
	if accepted > 0 && lastSeen > firstEntry {
		res["tx_per_second_on_all"] = float64(accepted) / (float64(lastSeen-firstEntry) / 1e6)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(res, "", " ")
		fmt.Println(string(b))
		return
	}
	f := func(m map[string]*float64, k string) string {
		if m[k] == nil {
			return "-"
		}
		return fmt.Sprintf("%.2f", *m[k])
	}
	fmt.Printf("gossipsub, %d nodes, %d links, %d of %d messages published, %g/s, %d bytes each\n",
		n, len(edges), accepted, *count, *rate, *size)
	fmt.Printf("  delivered: %.4f of (message, node) pairs\n", res["delivered"])
	for _, kv := range []struct{ k, label string }{{"to_each_node_ms", "entry -> each node"},
		{"to_last_node_ms", "entry -> last node"}} {
		m := res[kv.k].(map[string]*float64)
		fmt.Printf("  %-19s p50 %s  p90 %s  p99 %s  max %s ms\n", kv.label,
			f(m, "p50"), f(m, "p90"), f(m, "p99"), f(m, "max"))
	}
	fmt.Printf("  full copies received per node per message: %.3f\n", res["copies_per_node"])
	fmt.Printf("  bytes received per node per message: %.0f, %.2f x the message\n",
		res["bytes_received_per_node"], res["bytes_received_per_tx_byte"])
	if v, ok := res["tx_per_second_on_all"]; ok {
		fmt.Printf("  on all nodes: %.0f messages/s\n", v)
	}
}
