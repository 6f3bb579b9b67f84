package dss

import (
	"cmp"
	"slices"
)

// minRun is the shortest run sortRuns merges; shorter ones are made by
// insertion sort first.
const minRun = 32

// maxRuns is how many runs a branch notes as its objects come; past it,
// the sort finds them itself.
const maxRuns = 1 << 12

// sortEntries sorts es by idnumber, stably: entries with one idnumber keep the order they came in, which is
// how a repeated idnumber's first record is told from the second. runs are
// where es's sorted runs start, or nil if not known.
func sortEntries[K cmp.Ordered](es []entry[K], runs []int) {
	sortRuns(es, runs, func(x, y entry[K]) bool { return cmp.Less(x.key, y.key) })
}

// sortRuns sorts s stably by less. runs, if not nil, are where s's sorted
// runs start (0 first, in increasing order), which the caller may know
// already; else sortRuns finds them.
//
// Exports are mostly sorted already, or made of a few sorted runs: numeric
// idnumbers compared as text give two runs once they grow a digit ("100000"
// < "1000000" < "100001").
// So, like Timsort, sortRuns finds the runs and merges them pairwise: n log r
// comparisons for r runs, and one pass over memory per merge round, instead
// of n log n comparisons at random places. Input without long runs is cut
// into runs of minRun sorted by insertion, which makes it a plain merge sort.
//
// It pays for itself: at N = 1,000,000 in internal/bench (measure dss),
// sorting the branches with slices.SortStableFunc instead made the whole
// import and plan take 1.12x the time (median wall ratio 0.894 over 7
// alternating runs; cpu 0.897). Its buffer is the size of the shorter run
// of a merge (see mergeRuns). slices.SortFunc, in place and not stable (ties
// broken by entry.before), took 1.12x the time of this sort (median wall
// ratio of 7 runs at N = 1,000,000) for 30-44 MiB less peak memory, which
// mergeRuns's small buffer saves too.
func sortRuns[E any](s []E, runs []int, less func(a, b E) bool) {
	n := len(s)
	bounds := slices.Clone(runs) // run i is s[bounds[i]:bounds[i+1]]
	if bounds == nil {
		bounds = []int{0}
		for i := 1; i < n; i++ {
			if less(s[i], s[i-1]) {
				bounds = append(bounds, i)
			}
		}
	}
	if len(bounds) == 1 {
		return // sorted
	}
	if len(bounds) > n/minRun {
		bounds = bounds[:0]
		for lo := 0; lo < n; lo += minRun {
			insertionSort(s[lo:min(lo+minRun, n)], less)
			bounds = append(bounds, lo)
		}
	}
	bounds = append(bounds, n)

	var buf []E
	for len(bounds) > 2 {
		next := bounds[:1]
		for i := 0; i+1 < len(bounds); i += 2 {
			if i+2 == len(bounds) { // an odd run out: carried over as it is
				next = append(next, bounds[i+1])
				continue
			}
			lo, mid, hi := bounds[i], bounds[i+1], bounds[i+2]
			buf = mergeRuns(s[lo:hi], mid-lo, buf, less)
			next = append(next, hi)
		}
		bounds = next
	}
}

// mergeRuns merges the sorted runs s[:mid] and s[mid:] in place, stably,
// through buf, which it grows to the shorter run and returns. Exports are
// mostly one long run and a few short ones, so buf stays small: at N =
// 1,000,000 in internal/bench, a buffer the size of s instead took 58 MiB
// more peak memory and no less time.
func mergeRuns[E any](s []E, mid int, buf []E, less func(a, b E) bool) []E {
	a, b := s[:mid], s[mid:]
	if len(a) <= len(b) {
		// Forward, from a copy of a: the next place written is never
		// past the next element of b read.
		buf = append(buf[:0], a...)
		i, j, k := 0, mid, 0
		for i < len(buf) && j < len(s) {
			if less(s[j], buf[i]) {
				s[k] = s[j]
				j++
			} else {
				s[k] = buf[i]
				i++
			}
			k++
		}
		copy(s[k:], buf[i:])
		return buf
	}
	// Backward, from a copy of b, taking b's element on ties.
	buf = append(buf[:0], b...)
	i, j, k := mid-1, len(buf)-1, len(s)-1
	for i >= 0 && j >= 0 {
		if less(buf[j], s[i]) {
			s[k] = s[i]
			i--
		} else {
			s[k] = buf[j]
			j--
		}
		k--
	}
	copy(s[:j+1], buf[:j+1])
	return buf
}

// insertionSort sorts a few elements stably.
func insertionSort[E any](s []E, less func(a, b E) bool) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && less(s[j], s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// before reports whether e's record came before f's: an entry's src only
// grows as records come, and lines count up within one source.
func (e entry[K]) before(f entry[K]) bool {
	if e.src != f.src {
		return e.src < f.src
	}
	return e.line < f.line
}
