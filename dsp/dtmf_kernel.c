/* generic DTMF kernel: see dtmf_kernel.h */
