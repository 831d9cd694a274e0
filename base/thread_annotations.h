// Thread-safety annotations: macros for clang's -Wthread-safety analysis, which checks at
// compile time that a member marked GUARDED_BY(mu) is only touched with mu held and that a
// function marked REQUIRES(mu) is only called with mu held. Under other compilers (GCC) they
// expand to nothing. The checked build: tools/dev test ("clang thread-safety"); the lock types
// that carry the capability: base/mutex.h.
//
// Use: a lock-protected member gets GUARDED_BY(mu_) (PT_GUARDED_BY for what a pointer points
// to); a function that expects the lock held gets REQUIRES(mu_) (REQUIRES_SHARED for a reader
// lock); a function that takes the lock itself gets EXCLUDES(mu_) where a caller might hold it.
// NO_THREAD_SAFETY_ANALYSIS is the escape hatch, with a comment saying why it is safe.
//
// Thread-safety: compile-time only; no run-time effect.
#pragma once

#if defined(__clang__)
#define EW_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define EW_THREAD_ANNOTATION(x)
#endif

// On a class: instances are a capability (a lock) named by the string.
#define CAPABILITY(x) EW_THREAD_ANNOTATION(capability(x))
// On a class: an RAII object that holds a capability for its lifetime.
#define SCOPED_CAPABILITY EW_THREAD_ANNOTATION(scoped_lockable)

// On a data member: read and written only with the capability held (reads: at least shared).
#define GUARDED_BY(x) EW_THREAD_ANNOTATION(guarded_by(x))
// On a pointer member: the pointed-to data is guarded by the capability (the pointer is not).
#define PT_GUARDED_BY(x) EW_THREAD_ANNOTATION(pt_guarded_by(x))

// Lock order: this capability is acquired after / before the listed ones.
#define ACQUIRED_AFTER(...) EW_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) EW_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))

// On a function: the caller must hold the capabilities exclusively / at least shared.
#define REQUIRES(...) EW_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) EW_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))

// On a function: it acquires / releases the capabilities (exclusive, shared, or either).
#define ACQUIRE(...) EW_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) EW_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) EW_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) EW_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) EW_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))

// On a function: it tries to acquire; the first argument is the return value meaning success.
#define TRY_ACQUIRE(...) EW_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define TRY_ACQUIRE_SHARED(...) EW_THREAD_ANNOTATION(try_acquire_shared_capability(__VA_ARGS__))

// On a function: the caller must not hold the capabilities (the function takes them).
#define EXCLUDES(...) EW_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

// On a function: asserts at run time that the capability is held; the analysis then assumes it.
#define ASSERT_CAPABILITY(x) EW_THREAD_ANNOTATION(assert_capability(x))
#define ASSERT_SHARED_CAPABILITY(x) EW_THREAD_ANNOTATION(assert_shared_capability(x))

// On a function: returns a reference to the capability named (an accessor for a lock).
#define RETURN_CAPABILITY(x) EW_THREAD_ANNOTATION(lock_returned(x))

// On a function: the analysis skips its body. Say in a comment why it is safe.
#define NO_THREAD_SAFETY_ANALYSIS EW_THREAD_ANNOTATION(no_thread_safety_analysis)
